/**
 * Real Chromium for the site tests, through playwright-core (no browser download: Debian's
 * `chromium` package). Without it the browser tests are skipped with the reason, except under CI,
 * where a missing browser is an error.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.DEEPVIS_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** { skipReason } when the tests must be skipped; throws under CI when Chromium is missing. */
export function requireChromium(): { ok: boolean; skipReason?: string } {
  if (existsSync(CHROMIUM)) return { ok: true };
  const why = `${CHROMIUM} not found (apt-get install -y chromium, or set DEEPVIS_CHROMIUM)`;
  if (process.env.CI) throw new Error(`browser tests need Chromium: ${why}`);
  return { ok: false, skipReason: `(skipped: ${why})` };
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
}
