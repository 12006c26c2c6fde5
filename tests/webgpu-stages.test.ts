// The stages on --backend webgpu (SwiftShader), beside wasm, through the same API a run uses:
// optimize (p3 and fourier, a few steps) reaches the same activations from the same seeds and is
// deterministic on webgpu; scan finds the same top images with the same values, class
// correlations and deconv maps. On a tiny random-weight Caffe net with max pooling and LRN:
// SwiftShader runs WebGPU on the CPU (a SqueezeNet fourier step at 227×227 takes ~6 s there).
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { optimize, scan } from '../pipeline/index.ts';
import type { UnitRecord } from '../pipeline/content.ts';
import { listLayerUnits, readUnitRecord } from '../pipeline/content/unit-store.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { withRandomWeights } from '../pipeline/import/random-weights.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { writePhotos, writeTinyModel } from './helpers/scan-fixture.ts';
import { requireSwiftshader } from './helpers/swiftshader.ts';

const swiftshader = requireSwiftshader();
const LAYER = 'conv2';
const UNITS = [1, 5];

async function records(model: Model, data: string): Promise<UnitRecord[]> {
  const units = await listLayerUnits(data, model.id, LAYER);
  return Promise.all(units.map(async (u) => (await readUnitRecord(data, model.id, LAYER, u))!));
}

const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-6);

/** The decoded RGB of a map image. */
async function pixels(file: string): Promise<Buffer> {
  return sharp(await readFile(file))
    .removeAlpha()
    .raw()
    .toBuffer();
}

describe.skipIf(!swiftshader.ok)(`stages on webgpu (SwiftShader) and wasm ${swiftshader.skipReason ?? ''}`, () => {
  const run: Record<string, string> = {};
  const batch: Record<string, number | undefined> = {};
  const previous = process.env.DEEPVIS_GPU_ADAPTER;
  let model: Model;
  beforeAll(async () => {
    process.env.DEEPVIS_GPU_ADAPTER = 'swiftshader';
    const root = await mkdtemp(join(tmpdir(), 'deepvis-webgpu-fixture-'));
    model = withRandomWeights(await loadModel(await writeTinyModel(join(root, 'tiny'), 64, { lrn: true })), 3);
    await writePhotos(join(root, 'photos'), 10);
    const images = [join(root, 'photos')];
    for (const [name, backend] of [
      ['wasm', 'wasm'],
      ['gpu', 'webgpu'],
      ['gpu-again', 'webgpu'],
    ] as const) {
      const data = await mkdtemp(join(tmpdir(), `deepvis-webgpu-${name}-`));
      const common = { data, backend, workers: 0, quiet: true } as const;
      const o = await optimize(model, { ...common, layers: [{ name: LAYER, units: UNITS }], presets: ['fourier', 'p3'], seeds: [0], steps: 8 });
      batch[name] = o.batch;
      // The determinism check needs the optimisation only.
      if (name !== 'gpu-again') await scan(model, { ...common, images, layers: [LAYER], units: { [LAYER]: UNITS }, k: 3 });
      run[name] = data;
    }
  }, 900_000);
  afterAll(() => {
    if (previous === undefined) delete process.env.DEEPVIS_GPU_ADAPTER;
    else process.env.DEEPVIS_GPU_ADAPTER = previous;
  });

  it("the batch size: 8 on wasm, the device's choice on webgpu (this net's activations are small: the most, 256)", () => {
    expect(batch.wasm).toBe(8);
    expect(batch.gpu).toBe(256);
  });

  it('optimize: the same seed reaches activations within 1 % on both backends', async () => {
    const [a, b] = [await records(model, run.wasm), await records(model, run.gpu)];
    expect(b.map((r) => r.unit)).toEqual(UNITS);
    for (const [i, ra] of a.entries()) {
      const rb = b[i];
      expect(rb.optimized.map((o) => [o.preset, o.seed])).toEqual(ra.optimized.map((o) => [o.preset, o.seed]));
      for (const [j, oa] of ra.optimized.entries()) {
        const ob = rb.optimized[j];
        expect(rel(ob.best_activation, oa.best_activation), `unit ${ra.unit} ${oa.preset} best`).toBeLessThan(0.01);
        expect(rel(ob.start_activation, oa.start_activation), `unit ${ra.unit} ${oa.preset} start`).toBeLessThan(1e-3);
      }
    }
  });

  it('optimize: deterministic on webgpu (same images, byte for byte)', async () => {
    const [b, c] = [await records(model, run.gpu), await records(model, run['gpu-again'])];
    for (const [i, rb] of b.entries())
      for (const [j, ob] of rb.optimized.entries()) {
        const oc = c[i].optimized[j];
        expect(ob.best_activation).toBe(oc.best_activation);
        expect(Buffer.compare(await readFile(join(run.gpu, ob.file)), await readFile(join(run['gpu-again'], oc.file)))).toBe(0);
      }
  });

  it('scan: the same top images, values within 1e-4, the same class correlations', async () => {
    const [a, b] = [await records(model, run.wasm), await records(model, run.gpu)];
    for (const [i, ra] of a.entries()) {
      const rb = b[i];
      expect(rb.maxImages.map((m) => [m.file, m.y, m.x])).toEqual(ra.maxImages.map((m) => [m.file, m.y, m.x]));
      for (const [j, m] of ra.maxImages.entries()) expect(rel(rb.maxImages[j].value, m.value)).toBeLessThan(1e-4);
      const corr = (r: UnitRecord) => r.topClasses.filter((c) => c.source === 'corr');
      expect(corr(ra).length).toBeGreaterThan(0);
      expect(corr(rb).map((c) => c.name)).toEqual(corr(ra).map((c) => c.name));
      for (const [j, c] of corr(ra).entries()) expect(Math.abs(corr(rb)[j].corr! - c.corr!)).toBeLessThan(1e-3);
    }
  });

  it('scan: deconv maps of the top images agree (scales within 1e-3, pixels within 2 levels)', async () => {
    const [a, b] = [await records(model, run.wasm), await records(model, run.gpu)];
    for (const [i, ra] of a.entries())
      for (const [j, m] of ra.maxImages.entries()) {
        const g = b[i].maxImages[j];
        expect(m.scale && g.scale, 'maps have scales').toBeTruthy();
        for (const k of ['deconv', 'heat'] as const) {
          expect(rel(g.scale![k].max, m.scale![k].max), `${k} max`).toBeLessThan(1e-3);
          expect(rel(g.scale![k].clip, m.scale![k].clip), `${k} clip`).toBeLessThan(1e-3);
        }
        const [pa, pb] = [await pixels(join(run.wasm, m.deconv)), await pixels(join(run.gpu, g.deconv))];
        expect(pb.length).toBe(pa.length);
        let off = 0;
        for (let p = 0; p < pa.length; p++) if (Math.abs(pa[p] - pb[p]) > 2) off++;
        expect(off / pa.length, `unit ${ra.unit} image ${j}: share of deconv pixels off by > 2 levels`).toBeLessThan(0.001);
      }
  });
});
