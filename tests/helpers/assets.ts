import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * The shared assets folder (models, photos) named by DEEPVIS_ASSETS. Under CI a missing variable
 * is an error (the suite must not silently skip what it is there to check); elsewhere the tests
 * that need it are skipped with the reason.
 */
export function requireAssets(): { dir: string | undefined; skipReason?: string } {
  const v = process.env.DEEPVIS_ASSETS;
  if (!v) {
    if (process.env.CI) throw new Error('DEEPVIS_ASSETS is not set: CI must set it to the shared assets folder (e.g. DEEPVIS_ASSETS=../shared)');
    return { dir: undefined, skipReason: '(skipped: DEEPVIS_ASSETS is not set)' };
  }
  const dir = resolve(v);
  if (!existsSync(dir)) {
    if (process.env.CI) throw new Error(`DEEPVIS_ASSETS=${v} does not exist`);
    return { dir: undefined, skipReason: `(skipped: DEEPVIS_ASSETS=${v} does not exist)` };
  }
  return { dir };
}
