/**
 * TF.js Layers models made in the test (tf.sequential, tf.model), saved as model.json + shards,
 * imported by deepvis: every layer's output equals what tfjs itself computes (within 1e-4 of the
 * blob's largest value; float32 on the cpu backend, different summation orders).
 */
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { inspectModel } from '../../pipeline/cli/commands/inspect.ts';
import { randn, rng } from '../helpers/net-graph.ts';
import { functionalCnn, nestedLayerNormModel, randomizeWeights, saveLayersModel, sequentialCnn } from '../helpers/tfjs-models.ts';

let dir: string;

/** tfjs's own outputs of every layer, and deepvis's blobs of the same names, for one input. */
async function roundTrip(model: tf.LayersModel, folder: string, seed: number) {
  randomizeWeights(model, seed);
  await saveLayersModel(model, folder);
  const loaded = await loadModel(folder);
  const shape = [2, ...(model.inputs[0].shape.slice(1) as number[])];
  const x = tf.tensor4d(
    randn(
      rng(seed + 1),
      shape.reduce((a, d) => a * d, 1),
    ),
    shape as [number, number, number, number],
  );
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  const probe = tf.model({ inputs: model.inputs, outputs: layers.map((l) => l.output as tf.SymbolicTensor) });
  const want = probe.predict(x) as tf.Tensor[];
  const net = createNet(loaded);
  const got = net.forward(
    x,
    layers.map((l) => l.name),
  );
  const errs: Record<string, number> = {};
  for (let i = 0; i < layers.length; i++) {
    const name = layers[i].name;
    expect(got[name].shape, name).toEqual(want[i].shape);
    const w = await want[i].data(),
      g = await got[name].data();
    let num = 0,
      den = 0;
    for (let k = 0; k < w.length; k++) {
      num = Math.max(num, Math.abs(w[k] - g[k]));
      den = Math.max(den, Math.abs(w[k]));
    }
    errs[name] = den ? num / den : num;
  }
  tf.dispose([x, ...want, ...Object.values(got)]);
  net.dispose();
  return { errs, loaded };
}

describe('TF.js Layers models round-trip', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'deepvis-tfjs-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Sequential CNN: every layer output equals tfjs', async () => {
    const { errs, loaded } = await roundTrip(sequentialCnn(), join(dir, 'seq'), 1);
    expect(Object.keys(errs)).toHaveLength(13);
    for (const [name, e] of Object.entries(errs)) expect(e, name).toBeLessThan(1e-4);
    expect(loaded.id).toBe('seq');
    expect(loaded.graph.input.shape).toEqual([3, 29, 31]);
    expect(loaded.preprocess).toMatchObject({ size: [29, 31], channelOrder: 'RGB', scale: 1 / 127.5 });
  });

  it('functional model (branches, Add, Concatenate, Conv2DTranspose, PReLU, Permute, Reshape): every layer output equals tfjs', async () => {
    const { errs } = await roundTrip(functionalCnn(), join(dir, 'func'), 3);
    expect(Object.keys(errs).length).toBeGreaterThan(18);
    for (const [name, e] of Object.entries(errs)) expect(e, name).toBeLessThan(1e-4);
  });

  it('a nested model (a base network inside a Sequential, as Keras applications are used) with LayerNormalization: equals tfjs', async () => {
    const { errs, loaded } = await roundTrip(nestedLayerNormModel(), join(dir, 'nested'), 8);
    expect(Object.keys(errs).sort()).toEqual(['backbone', 'gap', 'head']);
    for (const [name, e] of Object.entries(errs)) expect(e, name).toBeLessThan(1e-4);
    // The base network's layers are blobs of the graph (gallery layers), under their own names.
    const ln = loaded.graph.layers.find((l) => l.name === 'base_ln');
    expect(ln).toMatchObject({ kind: 'layernorm', axes: [0] });
    expect(loaded.graph.layers.find((l) => l.name === 'base_ln_all')).toMatchObject({ kind: 'layernorm', axes: [1, 2, 0] });
    expect(loaded.graph.blobs.find((b) => b.name === 'base_conv2')?.shape).toEqual([4, 5, 4]);
  });

  it("input gradients through the imported functional model equal tfjs' own", async () => {
    const model = functionalCnn(true);
    randomizeWeights(model, 5);
    await saveLayersModel(model, join(dir, 'grad'));
    const net = createNet(await loadModel(join(dir, 'grad')));
    const x = tf.tensor4d(randn(rng(6), 2 * 24 * 20 * 4), [2, 24, 20, 4]);
    const w = tf.tensor2d(randn(rng(7), 8), [2, 4]);
    const want = await tf
      .grad((xi: tf.Tensor) => tf.sum(tf.mul(model.apply(xi) as tf.Tensor, w)))(x)
      .data();
    const got = await tf
      .grad((xi: tf.Tensor) => tf.sum(tf.mul(net.forward(xi as tf.Tensor4D, ['prob']).prob, w)))(x)
      .data();
    let num = 0,
      den = 0;
    for (let i = 0; i < want.length; i++) {
      num = Math.max(num, Math.abs(want[i] - got[i]));
      den = Math.max(den, Math.abs(want[i]));
    }
    expect(den).toBeGreaterThan(0);
    expect(num / den).toBeLessThan(1e-4);
    tf.dispose([x, w]);
    net.dispose();
  });

  it('inspect: blobs, shapes (C×H×W) and receptive fields without reading the weights', async () => {
    await saveLayersModel(sequentialCnn(), join(dir, 'seq2'));
    const report = inspectModel(await loadModel(join(dir, 'seq2', 'model.json'), { weights: false }));
    const blob = (n: string) => report.blobs.find((b) => b.name === n)!;
    expect(blob('conv1').shape).toEqual([8, 15, 16]);
    expect(blob('conv1').rf.size).toEqual([3, 3]);
    expect(blob('conv1').rf.stride).toEqual([2, 2]);
    expect(blob('dw').shape).toEqual([16, 14, 17]);
    expect(blob('fc2').shape).toEqual([5]);
    expect(report.blobs.map((b) => b.name)).toContain('sep/depthwise');
  });

  it('an unsupported layer is a UserError naming the layer and its type', async () => {
    const m = tf.sequential();
    m.add(tf.layers.conv2d({ name: 'c', inputShape: [8, 8, 3], filters: 2, kernelSize: 3 }));
    m.add(tf.layers.upSampling2d({ name: 'up', size: [2, 2] }));
    await saveLayersModel(m, join(dir, 'bad'));
    await expect(loadModel(join(dir, 'bad'))).rejects.toThrow(/layer "up" \(UpSampling2D\): layer type not supported/);
  });

  it('truncated shards and a model.json that does not match its weights are one-line errors', async () => {
    const folder = join(dir, 'trunc');
    await saveLayersModel(sequentialCnn(), folder, 1);
    const shard = join(folder, 'group1-shard1of1.bin');
    writeFileSync(shard, readFileSync(shard).subarray(0, 1000));
    await expect(loadModel(folder)).rejects.toMatchObject({ name: 'UserError', message: expect.stringMatching(/runs past the end of its shards/) });
    writeFileSync(join(folder, 'model.json'), '{"modelTopology": ');
    await expect(loadModel(folder)).rejects.toMatchObject({ name: 'UserError', message: expect.stringMatching(/not valid JSON/) });
  });
});
