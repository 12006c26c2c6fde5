/**
 * How legible a gallery's gradient maps are: the standard deviation of each deconv map's pixel
 * values (0–1 range, all channels), over every `deconv-<k>.webp` under a data folder; prints the
 * count, median and 10th/90th percentiles (a map that is uniformly grey has 0).
 *
 *   node bin/run-ts.mjs scripts/map-contrast.ts DATA_DIR [--name deconv|heat]
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { pixelStd } from '../pipeline/image/maps.ts';

const [dir, ...rest] = process.argv.slice(2);
if (!dir) {
  console.error('usage: map-contrast.ts DATA_DIR [--name deconv|heat]');
  process.exit(2);
}
const at = rest.indexOf('--name');
const name = (at >= 0 ? rest[at + 1] : undefined) ?? 'deconv';
const files = readdirSync(dir, { recursive: true, withFileTypes: true })
  .filter((e) => e.isFile() && new RegExp(`^${name}-\\d+\\.webp$`).test(e.name))
  .map((e) => join(e.parentPath, e.name));
const stds: number[] = [];
for (const f of files) {
  const { data } = await sharp(f).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  stds.push(pixelStd(data));
}
stds.sort((a, b) => a - b);
const q = (p: number) => stds[Math.min(stds.length - 1, Math.floor(p * stds.length))] ?? NaN;
console.log(JSON.stringify({ maps: stds.length, median: +q(0.5).toFixed(4), p10: +q(0.1).toFixed(4), p90: +q(0.9).toFixed(4) }));
