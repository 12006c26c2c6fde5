/**
 * Model export for the probe page: shards in TensorFlow.js's weights-manifest format (≤ the shard
 * limit, readable with tf.io.decodeWeights / weightsLoaderFactory), and a model rebuilt from the
 * export computes exactly what the original computes.
 */
import { mkdtemp, readdir, readFile, rm, stat, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportModel } from '../pipeline/site/export/export.ts';
import { checkExportedModel, decodeGroup, parseWeightName, toModel, type ExportedModel } from '../pipeline/site/export/format.ts';
import { exportModelsForSite } from '../pipeline/site/export/probe-networks.ts';
import { probeNetDir } from '../pipeline/site/export/paths.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import { loadModel } from '../pipeline/import/load.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { GraphBuilder } from './helpers/net-graph.ts';
import { requireAssets } from './helpers/assets.ts';

let dir: string;
beforeAll(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'deepvis-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tinyModel(): Model {
  const b = new GraphBuilder([3, 12, 12], 5)
    .conv('conv1/a', 'data', 'conv1/a', { numOutput: 6, kernel: 3, stride: 1, pad: 1 })
    .relu('relu1', 'conv1/a')
    .pool('pool1', 'conv1/a', 'pool1', { method: 'max', kernel: 2, stride: 2 })
    .fc('fc', 'pool1', 'fc', 7);
  const m = b.model('tiny');
  m.labels = Array.from({ length: 7 }, (_, index) => ({ index, name: `class ${index}` }));
  return m;
}

async function readExport(d: string): Promise<{ doc: ExportedModel; shards: ArrayBuffer[] }> {
  const doc = checkExportedModel(JSON.parse(await readFile(join(d, 'model.json'), 'utf8')));
  const shards = await Promise.all(
    doc.weightsManifest[0].paths.map(async (p) => {
      const b = await readFile(join(d, p));
      return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    }),
  );
  return { doc, shards };
}

describe('exportModel', () => {
  it('writes shards of at most shardBytes whose weights decode back exactly (layer names with "/")', async () => {
    const model = tinyModel();
    const out = join(dir, 'tiny');
    const report = await exportModel(model, out, { shardBytes: 256 });
    const { doc, shards } = await readExport(out);
    expect(doc.weightsManifest[0].paths.length).toBeGreaterThan(3);
    for (const p of doc.weightsManifest[0].paths) expect((await stat(join(out, p))).size).toBeLessThanOrEqual(256);
    expect(report.weightBytes).toBe(shards.reduce((s, b) => s + b.byteLength, 0));
    expect(doc.modelTopology.labels?.[3].name).toBe('class 3');
    expect(JSON.stringify(doc)).not.toContain('"weights":{'); // no Map serialised by accident
    const weights = decodeGroup(doc.weightsManifest[0], shards);
    expect([...weights.keys()].sort()).toEqual([...model.graph.weights!.keys()].sort());
    for (const [layer, params] of model.graph.weights!) {
      params.forEach((p, i) => {
        expect(weights.get(layer)![i].shape).toEqual(p.shape);
        expect(Array.from(weights.get(layer)![i].data)).toEqual(Array.from(p.data));
      });
    }
    expect(parseWeightName('conv1/a/1')).toEqual({ layer: 'conv1/a', index: 1 });
  });

  it('is readable by TensorFlow.js (decodeWeights, weightsLoaderFactory)', async () => {
    const model = tinyModel();
    const out = join(dir, 'tiny-tfjs');
    await exportModel(model, out, { shardBytes: 512 });
    const { doc, shards } = await readExport(out);
    const joined = new Uint8Array(shards.reduce((s, b) => s + b.byteLength, 0));
    let at = 0;
    for (const b of shards) {
      joined.set(new Uint8Array(b), at);
      at += b.byteLength;
    }
    const decoded = tf.io.decodeWeights(joined.buffer, doc.weightsManifest[0].weights);
    const conv = model.graph.weights!.get('conv1/a')![0];
    expect(decoded['conv1/a/0'].shape).toEqual(conv.shape);
    expect(Array.from(decoded['conv1/a/0'].dataSync())).toEqual(Array.from(conv.data));
    const load = tf.io.weightsLoaderFactory(async (paths: string[]) =>
      Promise.all(
        paths.map(async (p) => {
          const b = await readFile(join(out, p));
          return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
        }),
      ),
    );
    const viaLoader = await load(doc.weightsManifest, '');
    expect(Array.from(viaLoader['fc/1'].dataSync())).toEqual(Array.from(model.graph.weights!.get('fc')![1].data));
    tf.dispose([...Object.values(decoded), ...Object.values(viaLoader)]);
  });

  it('rebuilds a model that computes the same outputs', async () => {
    const model = tinyModel();
    const out = join(dir, 'tiny-run');
    await exportModel(model, out);
    const { doc, shards } = await readExport(out);
    const again = toModel(doc.modelTopology, decodeGroup(doc.weightsManifest[0], shards));
    const x = tf.randomNormal([2, 12, 12, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const a = createNet(model).forward(x, ['fc', 'pool1']);
    const b = createNet(again).forward(x, ['fc', 'pool1']);
    expect(Array.from(b.fc.dataSync())).toEqual(Array.from(a.fc.dataSync()));
    expect(Array.from(b.pool1.dataSync())).toEqual(Array.from(a.pool1.dataSync()));
  });

  it('refuses a model without weights', async () => {
    const model = tinyModel();
    delete model.graph.weights;
    await expect(exportModel(model, join(dir, 'none'))).rejects.toThrow(/no weights/);
  });

  it('removes shards of an earlier, larger export', async () => {
    const out = join(dir, 'tiny-re');
    await exportModel(tinyModel(), out, { shardBytes: 128 });
    await exportModel(tinyModel(), out);
    expect((await readdir(out)).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
  });
});

const A = requireAssets();
describe.skipIf(!A.dir)(`export of a shared model ${A.skipReason ?? ''}`, () => {
  it('SqueezeNet: 4 MB shards, every weight round-trips; site export follows model.json "source"', async () => {
    const data = join(dir, 'data');
    await mkdir(join(data, 'sq'), { recursive: true });
    await mkdir(join(data, 'nosource'), { recursive: true });
    const src = join(A.dir!, 'models', 'squeezenet_v1.1');
    // Model records as the pipeline writes them (validated by the content schema on reading).
    const layer = (name: string) => ({
      name,
      slug: name.replace(/\//g, '-'),
      kind: 'concat',
      shape: [512, 14, 14],
      units: 512,
      rf: { size: [1, 1], stride: [1, 1] },
      classLayer: false,
    });
    const record = (id: string, layers: string[], extra: object = {}) =>
      JSON.stringify({ id, name: id === 'sq' ? 'SqueezeNet' : 'x', input: { size: [227, 227], channelOrder: 'BGR' }, layers: layers.map(layer), ...extra });
    await writeFile(join(data, 'sq', 'model.json'), record('sq', ['fire9/concat'], { source: src }));
    await writeFile(join(data, 'nosource', 'model.json'), record('nosource', []));
    const out = join(dir, 'site');
    const report = await exportModelsForSite(data, out, { quiet: true });
    expect(report.skipped).toEqual(['nosource']);
    const netDir = join(out, probeNetDir('sq'));
    const { doc, shards } = await readExport(netDir);
    expect(doc.modelTopology.name).toBe('SqueezeNet');
    expect(doc.modelTopology.id).toBe('sq');
    expect(doc.modelTopology.preprocess.size).toEqual([227, 227]);
    expect(doc.modelTopology.labels).toHaveLength(1000);
    for (const b of shards) expect(b.byteLength).toBeLessThanOrEqual(4 * 1024 * 1024);
    const original = await loadModel(src);
    const weights = decodeGroup(doc.weightsManifest[0], shards);
    let n = 0;
    for (const [layer, params] of original.graph.weights!) {
      params.forEach((p, i) => {
        const q = weights.get(layer)![i];
        expect(q.shape).toEqual(p.shape);
        expect(Buffer.from(q.data.buffer).equals(Buffer.from(p.data.buffer, p.data.byteOffset, p.data.byteLength))).toBe(true);
        n += p.data.length;
      });
    }
    expect(n).toBe(report.models[0].params);
    // a gallery layer that the source model does not have is refused
    await writeFile(join(data, 'sq', 'model.json'), record('sq', ['conv5'], { source: src }));
    await expect(exportModelsForSite(data, out, { quiet: true })).rejects.toThrow(/layer "conv5" is not a blob/);
  });
});
