/**
 * Evidence on the unit pages of a real gallery (SqueezeNet, 40 photos): every unit page shows its
 * badges and activation statistics with the numbers of its record, the layer page its layer's
 * statistics, and a unit that is dead on every image says so instead of showing its patches.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listLayerUnits, readUnitRecord, scanPartPath } from '../pipeline/content/unit-store.ts';
import type { UnitRecord } from '../pipeline/content/types.ts';
import { requireAssets } from './helpers/assets.ts';
import { runCli } from './reference/cli.ts';

const assets = requireAssets();
const MODEL = 'squeezenet_v1.1';
const LAYERS = ['conv1', 'fire9/concat', 'pool10'];
let tmp: string;
let data: string;
let dist: string;

/** The CLI in a child process, awaited (a long synchronous spawn would stall the test worker's heartbeat). */
const cli = async (...args: string[]) => {
  const r = await runCli(args);
  return { status: r.code, stderr: r.stderr };
};
const page = (layerSlug: string, unit: number) => readFileSync(join(dist, MODEL, layerSlug, String(unit), 'index.html'), 'utf8');
const text = (html: string) =>
  html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ');

async function records(): Promise<UnitRecord[]> {
  const out: UnitRecord[] = [];
  for (const l of LAYERS) for (const u of await listLayerUnits(data, MODEL, l.replace('/', '-'))) out.push((await readUnitRecord(data, MODEL, l, u))!);
  return out;
}

describe.skipIf(!assets.dir)(`evidence on unit pages ${assets.skipReason ?? ''}`, () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'deepvis-evidence-'));
    const photos = join(tmp, 'photos');
    mkdirSync(photos);
    const sample = join(assets.dir!, 'images', 'imagenet-sample');
    for (const f of readdirSync(sample).sort().slice(0, 40)) copyFileSync(join(sample, f), join(photos, f));
    data = join(tmp, 'data');
    dist = join(tmp, 'dist');
    const r = await cli(
      'run',
      '--model',
      join(assets.dir!, 'models', MODEL),
      '--images',
      photos,
      '--layers',
      LAYERS.join(','),
      '--seeds',
      '2',
      '--steps',
      '16',
      '--judge-model',
      join(assets.dir!, 'models', 'bvlc_googlenet'),
      '--data',
      data,
      '--dist',
      dist,
    );
    expect(r.status, r.stderr).toBe(0);
  }, 600_000);
  afterAll(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it('every unit page shows its badges and statistics, equal to its record', async () => {
    const recs = await records();
    expect(recs).toHaveLength(12);
    for (const rec of recs) {
      const t = text(page(rec.layerSlug, rec.unit));
      const s = rec.stats!;
      expect(s.images).toBe(40);
      const best = Math.max(...rec.optimized.map((o) => o.activation));
      const ratio = best / rec.maxImages[0].value;
      expect(t, `${rec.layer} ${rec.unit}`).toContain(`optimised ÷ best photo ${ratio.toFixed(ratio >= 10 ? 0 : 2)}×`);
      if (s.dead < 1) expect(t).toContain(`selectivity ${(s.selectivity * 100).toFixed(s.selectivity < 0.01 && s.selectivity > 0 ? 2 : 1)} %`);
      expect(t).toContain(`Activation over 40 scanned images`);
      expect(rec.agreement).toHaveLength(1);
      expect(rec.agreement![0]).toMatchObject({ preset: 'fourier', seeds: 2, blob: 'fire9/concat' });
      expect(t).toContain(`seed agreement ${rec.agreement![0].similarity.toFixed(2)}`);
      if (rec.layer === 'pool10') {
        // the scan stores a class unit's WordNet hypernyms, and the page shows them
        expect(rec.hypernyms!.length, `${rec.layer} ${rec.unit}`).toBeGreaterThan(3);
        expect(t).toContain(`WordNet: ${rec.hypernyms!.slice(0, 6).join(' › ')}`);
        // class units: the model's own top-1 and the judge's top-5 for each optimised image
        const own = rec.optimized.filter((o) => o.top1!.index === rec.unit).length;
        expect(t).toContain(`own top-1 ${own} of 2`);
        expect(
          rec.optimized.every((o) => o.judge?.model === 'bvlc_googlenet' && o.judge.top5.length === 5),
          JSON.stringify(rec.optimized),
        ).toBe(true);
        const hits = rec.optimized.filter((o) => o.judge!.hit).length;
        expect(t).toContain(`bvlc_googlenet top-5 ${hits} of 2`);
      } else expect(rec.optimized.every((o) => o.judge === undefined)).toBe(true);
      expect(t).toContain(`dead (≤ 0) on ${(s.dead * 100).toFixed(1)} %`);
      expect(t).toContain(`at least half its maximum on ${(s.selectivity * 100).toFixed(1)} %`);
      // the histogram: one bar for the dead bin, then the record's bins
      const bars = page(rec.layerSlug, rec.unit).match(/<rect /g) ?? [];
      expect(bars).toHaveLength(1 + s.hist.counts.length);
      expect(s.hist.dead + s.hist.counts.reduce((a, b) => a + b, 0)).toBe(40);
    }
  });

  it('the layer page summarises all its units: dead, rarely active, distribution of maxima', () => {
    const stats = JSON.parse(readFileSync(join(data, MODEL, 'layers', 'fire9-concat.json'), 'utf8'));
    expect(stats.units).toBe(512);
    expect(stats.max).toHaveLength(512);
    const t = text(readFileSync(join(dist, MODEL, 'fire9-concat', 'index.html'), 'utf8'));
    expect(t).toContain(`Units over 40 scanned images`);
    expect(t).toContain(`${stats.dead} of 512 units dead on every image · ${stats.rare} rarely active`);
  });

  it('a unit dead on every image says so and shows no patches', async () => {
    const part = scanPartPath(data, MODEL, 'conv1', 16);
    const scanPart = JSON.parse(readFileSync(part, 'utf8'));
    scanPart.stats = { ...scanPart.stats, dead: 1, selectivity: 0, mean: 0, std: 0, hist: { ...scanPart.stats.hist, dead: 40, counts: [] } };
    writeFileSync(part, JSON.stringify(scanPart));
    const r = await cli('site', 'build', '--data', data, '--dist', dist);
    expect(r.status, r.stderr).toBe(0);
    const html = page('conv1', 16);
    expect(text(html)).toContain('This unit is dead on every scanned image');
    expect(text(html)).toContain('dead on all 40 images');
    expect(html).not.toContain('class="pairs"');
    expect(text(page('conv1', 48))).not.toContain('dead on every scanned image');
  }, 300_000);
});
