/** Driving the probe page from playwright-core: shared by tests/e2e/probe.test.ts and scripts/bench-probe.ts. */
import { chromium, type Browser, type Page } from 'playwright-core';
import type { ProbeState } from '../../site/probe/app.ts';
import { join } from 'node:path';
import { readNpy } from '../../pipeline/io/npy.ts';
import { CHROMIUM, CHROMIUM_ARGS } from './browser.ts';

/** Chromium's synthetic camera, granted without a prompt. */
export const FAKE_CAMERA_ARGS = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

export function launchProbeBrowser(extra: string[] = FAKE_CAMERA_ARGS): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...extra], headless: true });
}

export interface PageWeight {
  bytes: number;
  requests: { url: string; bytes: number }[];
}

/** Opens `url` and sums what every request transferred (headers + body) until the network is idle. */
export async function pageWeight(page: Page, url: string): Promise<PageWeight> {
  const requests: { url: string; bytes: number }[] = [];
  const pending: Promise<void>[] = [];
  const onDone = (req: import('playwright-core').Request) => {
    pending.push(
      req.sizes().then((s) => {
        requests.push({ url: req.url(), bytes: s.responseBodySize + s.responseHeadersSize });
      }),
    );
  };
  page.on('requestfinished', onDone);
  await page.goto(url, { waitUntil: 'networkidle' });
  await Promise.all(pending);
  page.off('requestfinished', onDone);
  return { bytes: requests.reduce((s, r) => s + r.bytes, 0), requests };
}

export function probeState(page: Page): Promise<ProbeState> {
  return page.evaluate(() => window.__deepvisProbe!.state());
}

/** Waits until the probe has processed `n` frames (or reports an error). */
export async function waitForFrames(page: Page, n: number, timeout = 120_000): Promise<void> {
  await page.waitForFunction(
    (k) => {
      const s = window.__deepvisProbe?.state();
      return Boolean(s && (s.error || s.frames >= k));
    },
    n,
    { timeout, polling: 100 },
  );
  const s = await probeState(page);
  if (s.error) throw new Error(`probe: ${s.error}`);
}

/** Chooses a photo in the page's file input and waits for its result. */
export async function loadPhoto(page: Page, file: string, timeout = 180_000): Promise<void> {
  const before = await page.evaluate(() => window.__deepvisProbe?.state().runs ?? 0);
  await page.setInputFiles('#probe-file', file);
  await page.waitForFunction(
    (k) => {
      const s = window.__deepvisProbe?.state();
      return Boolean(s && (s.error || (s.source === 'image' && s.runs > k)));
    },
    before,
    { timeout, polling: 100 },
  );
  const s = await probeState(page);
  if (s.error) throw new Error(`probe: ${s.error}`);
}

/** Clicks "Load the network" and waits until it is loaded (or failed); returns the state. */
export async function loadNetwork(page: Page, timeout = 180_000): Promise<ProbeState> {
  await page.click('#probe-load');
  await page.waitForFunction(() => window.__deepvisProbe?.state().loaded || window.__deepvisProbe?.state().error, undefined, { timeout });
  return probeState(page);
}

/** How many of the page's input pixels equal `rgb` (the pipeline's decoding of the same photo). */
export async function samePixels(page: Page, rgb: ArrayLike<number>): Promise<{ same: number; seen: number }> {
  const seen = await page.evaluate(() => window.__deepvisProbe!.inputPixels());
  let same = 0;
  for (let i = 0; i < rgb.length; i++) if (rgb[i] === seen[i]) same++;
  return { same, seen: seen.length };
}

/**
 * The page's values of channel `unit` of `blob` against `deepvis activations`' .npy of it (in
 * `dir`): their count, the .npy's per-channel count, and max |difference| / max |blob|.
 */
export async function unitAgainstActivations(page: Page, dir: string, blob: string, unit: number): Promise<{ length: number; per: number; rel: number }> {
  const npy = await readNpy(join(dir, `${blob.replace(/\//g, '__')}.npy`));
  const per = npy.data.length / npy.shape[1];
  let scale = 0;
  for (const v of npy.data) scale = Math.max(scale, Math.abs(v));
  const mine = await page.evaluate(([b, u]) => window.__deepvisProbe!.unitValues(b, u), [blob, unit] as const);
  let err = 0;
  for (let i = 0; i < Math.min(per, mine.length); i++) err = Math.max(err, Math.abs(mine[i] - npy.data[unit * per + i]));
  return { length: mine.length, per, rel: err / scale };
}
