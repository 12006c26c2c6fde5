// The stages on --backend onnxruntime, beside wasm: optimize from the same seeds reaches the same
// activations (within 2 %: float order differs, so not byte-identical) and is deterministic on each
// backend; scan finds the same top images with the same values and the same class correlations.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { optimize, scan } from '../pipeline/index.ts';
import type { UnitRecord } from '../pipeline/content.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { listLayerUnits, readUnitRecord } from '../pipeline/content/unit-store.ts';
import { requireAssets } from './helpers/assets.ts';

const assets = requireAssets();
const LAYER = 'fire9/concat';
const UNITS = [3, 200, 411];

async function records(data: string): Promise<UnitRecord[]> {
  const units = await listLayerUnits(data, 'squeezenet_v1.1', 'fire9-concat');
  return Promise.all(units.map(async (u) => (await readUnitRecord(data, 'squeezenet_v1.1', LAYER, u))!));
}

describe.skipIf(!assets.dir)(`stages on onnxruntime and wasm ${assets.skipReason ?? ''}`, () => {
  let model: Model;
  const run: Record<string, string> = {};
  beforeAll(async () => {
    model = await loadModel(join(assets.dir!, 'models', 'squeezenet_v1.1'));
    const images = [join(assets.dir!, 'images', 'ilsvrc2012-val')];
    for (const [name, backend] of [
      ['wasm', 'wasm'],
      ['ort', 'onnxruntime'],
      ['ort-again', 'onnxruntime'],
    ] as const) {
      const data = await mkdtemp(join(tmpdir(), `deepvis-ort-${name}-`));
      const common = { data, backend, workers: 0, quiet: true } as const;
      await optimize(model, { ...common, layers: [{ name: LAYER, units: UNITS }], presets: ['fourier', 'p3'], seeds: [0], steps: 24 });
      await scan(model, { ...common, images, layers: [LAYER], units: { [LAYER]: UNITS }, k: 4 });
      run[name] = data;
    }
  }, 900_000);

  it('optimize: the same seed reaches activations within 2 % on both backends', async () => {
    const [a, b] = [await records(run.wasm), await records(run.ort)];
    expect(b.map((r) => r.unit)).toEqual(UNITS);
    expect(a.map((r) => r.unit)).toEqual(UNITS);
    for (const [i, ra] of a.entries()) {
      const rb = b[i];
      expect(rb.optimized.map((o) => [o.preset, o.seed])).toEqual(ra.optimized.map((o) => [o.preset, o.seed]));
      for (const [j, oa] of ra.optimized.entries()) {
        const ob = rb.optimized[j];
        expect(Math.abs(ob.best_activation - oa.best_activation) / Math.abs(oa.best_activation), `unit ${ra.unit} ${oa.preset}`).toBeLessThan(0.02);
      }
    }
  });

  it('optimize: deterministic on onnxruntime (same images, byte for byte)', async () => {
    const [b, c] = [await records(run.ort), await records(run['ort-again'])];
    for (const [i, rb] of b.entries())
      for (const [j, ob] of rb.optimized.entries()) {
        const oc = c[i].optimized[j];
        expect(ob.best_activation).toBe(oc.best_activation);
        expect(Buffer.compare(await readFile(join(run.ort, ob.file)), await readFile(join(run['ort-again'], oc.file)))).toBe(0);
      }
  });

  it('scan: the same top images, values within 1e-4', async () => {
    const [a, b] = [await records(run.wasm), await records(run.ort)];
    for (const [i, ra] of a.entries()) {
      const rb = b[i];
      expect(rb.maxImages.map((m) => [m.file, m.y, m.x])).toEqual(ra.maxImages.map((m) => [m.file, m.y, m.x]));
      for (const [j, m] of ra.maxImages.entries()) expect(Math.abs(rb.maxImages[j].value - m.value) / Math.abs(m.value)).toBeLessThan(1e-4);
      // The class correlations (reduced inside ONNX Runtime's graph on that backend) agree too.
      const corr = (r: UnitRecord) => r.topClasses.filter((c) => c.source === 'corr');
      expect(corr(ra).length).toBeGreaterThan(0);
      expect(corr(rb).map((c) => c.name)).toEqual(corr(ra).map((c) => c.name));
      for (const [j, c] of corr(ra).entries()) expect(Math.abs(corr(rb)[j].corr! - c.corr!)).toBeLessThan(1e-3);
    }
  });
});
