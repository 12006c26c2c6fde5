// The stages on --backend onnxruntime, beside wasm, on SqueezeNet and on a ViT (its token grid
// after the first encoder block, tests/helpers/onnx-families.ts): optimize from the same seeds reaches the same
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
import { importOnnx } from '../pipeline/import/onnx/import.ts';
import { readModel } from '../pipeline/import/onnx/proto.ts';
import { listLayerUnits, readUnitRecord } from '../pipeline/content/unit-store.ts';
import { requireAssets } from './helpers/assets.ts';
import { vitOnnx } from './helpers/onnx-families.ts';

const assets = requireAssets();

interface Case {
  load: () => Promise<Model>;
  layer: string;
  slug: string;
  units: number[];
  /** Whether the model has a softmax class blob (the scan correlates units with its classes). */
  corr: boolean;
}

const CASES: Record<string, Case> = {
  'squeezenet_v1.1': {
    load: () => loadModel(join(assets.dir!, 'models', 'squeezenet_v1.1')),
    layer: 'fire9/concat',
    slug: 'fire9-concat',
    units: [3, 200, 411],
    corr: true,
  },
  'a ViT (torch.onnx.export form), its token grid after the first encoder block': {
    load: async () => {
      const { graph } = importOnnx(readModel(vitOnnx(6, 17).bytes, 'vit.onnx'), { file: 'vit.onnx' });
      return {
        id: 'vit',
        graph,
        source: 'vit.onnx',
        preprocess: { size: [32, 32], resize: [32, 32], channelOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 / 255 },
      };
    },
    layer: '/encoder.layers.encoder_layer_0/out/Add_output_0/grid',
    slug: 'encoder.layers.encoder_layer_0-out-Add_output_0-grid',
    units: [1, 7, 12],
    corr: false,
  },
};

describe.skipIf(!assets.dir).each(Object.entries(CASES))(`stages on onnxruntime and wasm ${assets.skipReason ?? ''}: %s`, (_name, c) => {
  const UNITS = c.units;
  const LAYER = c.layer;
  let model: Model;
  const records = async (data: string): Promise<UnitRecord[]> => {
    const units = await listLayerUnits(data, model.id, c.slug);
    return Promise.all(units.map(async (u) => (await readUnitRecord(data, model.id, LAYER, u))!));
  };
  const run: Record<string, string> = {};
  beforeAll(async () => {
    model = await c.load();
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
      expect(corr(ra).length > 0).toBe(c.corr);
      expect(corr(rb).map((c) => c.name)).toEqual(corr(ra).map((c) => c.name));
      for (const [j, c] of corr(ra).entries()) expect(Math.abs(corr(rb)[j].corr! - c.corr!)).toBeLessThan(1e-3);
    }
  });
});
