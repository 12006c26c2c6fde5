/**
 * Deconv maps that read at a glance, on a real model: over a SqueezeNet scan the median standard
 * deviation of the maps' pixels is at least 0.10 of the 0–1 range (max-|value| scaling gave
 * ~0.015 on the same maps), every max image has its heat map, and the record keeps the raw scale.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { listLayerUnits, readUnitRecord } from '../pipeline/content/unit-store.ts';
import { pixelStd } from '../pipeline/image/maps.ts';
import { requireAssets } from './helpers/assets.ts';
import { runCli } from './reference/cli.ts';

const assets = requireAssets();
let tmp: string | undefined;
afterAll(() => tmp && rmSync(tmp, { recursive: true, force: true }));

async function fileStd(file: string): Promise<number> {
  const { data } = await sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return pixelStd(data);
}

describe.skipIf(!assets.dir)(`deconv maps on SqueezeNet ${assets.skipReason ?? ''}`, () => {
  it('median map contrast ≥ 0.10, a heat map per max image, the raw scale in the record', async () => {
    tmp = mkdtempSync(join(tmpdir(), 'deepvis-maps-'));
    const photos = join(tmp, 'photos');
    mkdirSync(photos);
    const sample = join(assets.dir!, 'images', 'imagenet-sample');
    for (const f of readdirSync(sample).sort().slice(0, 30)) copyFileSync(join(sample, f), join(photos, f));
    const data = join(tmp, 'data');
    const r = await runCli([
      'scan',
      '--model',
      join(assets.dir!, 'models', 'squeezenet_v1.1'),
      '--images',
      photos,
      '--layers',
      'conv1,fire5/concat,fire9/concat',
      '--units',
      '0-3',
      '--data',
      data,
      '--quiet',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const stds: number[] = [];
    for (const layer of ['conv1', 'fire5/concat', 'fire9/concat']) {
      const units = await listLayerUnits(data, 'squeezenet_v1.1', layer.replace('/', '-'));
      expect(units).toEqual([0, 1, 2, 3]);
      for (const u of units) {
        const rec = (await readUnitRecord(data, 'squeezenet_v1.1', layer, u))!;
        expect(rec.maxImages).toHaveLength(9);
        for (const m of rec.maxImages) {
          expect(m.heat).toBeDefined();
          expect(m.scale!.deconv.clip).toBeGreaterThan(0);
          expect(m.scale!.deconv.clip).toBeLessThanOrEqual(m.scale!.deconv.max);
          expect(m.scale!.heat.clip).toBeLessThanOrEqual(m.scale!.heat.max);
          const [a, b] = await Promise.all([sharp(join(data, m.deconv)).metadata(), sharp(join(data, m.heat!)).metadata()]);
          expect([b.width, b.height]).toEqual([a.width, a.height]);
          stds.push(await fileStd(join(data, m.deconv)));
        }
      }
    }
    stds.sort((a, b) => a - b);
    const median = stds[Math.floor(stds.length / 2)];
    console.log(`deconv maps: ${stds.length}, median pixel std ${median.toFixed(3)} (p10 ${stds[Math.floor(stds.length / 10)].toFixed(3)})`);
    expect(median).toBeGreaterThanOrEqual(0.1);
  }, 300_000);
});
