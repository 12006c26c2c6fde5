/**
 * ONNX CNNs built in the test, run by onnxruntime-node (reference) and by deepvis: every blob
 * agrees within 1e-4 of the blob's largest absolute value. Also: weights stored as raw_data,
 * float_data or external data give the same network.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../pipeline/engine/backend.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import { nchwToLayout } from '../pipeline/engine/net/layout.ts';
import { exportModel } from '../pipeline/site/export/export.ts';
import { checkExportedModel, decodeGroup, toModel } from '../pipeline/site/export/format.ts';
import { randn, rng } from './helpers/net-graph.ts';
import { caffenetOnnx, modernOnnx, type BuiltModel } from './helpers/onnx-models.ts';
import { deepvisRun, expectBlobsMatch, ortRun } from './helpers/onnx-reference.ts';

/** Every blob both compute agrees within 1e-4 of the blob's largest value (expectBlobsMatch). */
async function compare(m: BuiltModel, seed: number, opts = {}) {
  const n = m.dims.reduce((a, d) => a * d, 1);
  const x = randn(rng(seed), n);
  const ref = await ortRun(m.bytes, m.input, x, m.dims, m.tensors);
  const { blobs, model } = await deepvisRun(m.bytes, x, m.dims, opts);
  // The input, and internal blobs (e.g. explicit padding before a conv), have no reference.
  return { compared: expectBlobsMatch(blobs, ref), model, ref };
}

describe('ONNX models vs onnxruntime-node', () => {
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it('CaffeNet (toolbox shape, grouped convolutions): every blob within 1e-4', async () => {
    const m = caffenetOnnx(3);
    const { compared, model } = await compare(m, 4);
    expect(compared).toBe(m.tensors.length);
    const shape = (b: string) => model.graph.blobs.find((x) => x.name === b)?.shape;
    expect(shape('conv1')).toEqual([96, 55, 55]);
    expect(shape('pool2')).toEqual([256, 13, 13]);
    expect(shape('pool5')).toEqual([256, 6, 6]);
    expect(shape('fc8')).toEqual([1000]);
    const rf = (b: string) => model.graph.blobs.find((x) => x.name === b)?.rf.size[0];
    expect([rf('conv1'), rf('conv2'), rf('conv3'), rf('conv4'), rf('conv5')]).toEqual([11, 51, 99, 131, 163]);
  }, 300_000);

  it('a modern CNN (BN, ReLU6, depthwise, SE block, ConvTranspose, dynamic Reshape, MatMul…): every blob within 1e-4', async () => {
    const m = modernOnnx(5);
    const { compared } = await compare(m, 6);
    expect(compared).toBeGreaterThan(30);
  });

  it('the input gradient through every extra kind matches central differences', async () => {
    const m = modernOnnx(9);
    const { model } = await deepvisRun(m.bytes, new Float32Array(2 * 3 * 37 * 33), m.dims);
    const net = createNet(model);
    const r = rng(10);
    const x0 = nchwToLayout(randn(r, 3 * 37 * 33), [1, 3, 37, 33]);
    const w = tf.tensor(randn(r, 7), [1, 7]);
    const f = (x: tf.Tensor) => tf.sum(tf.mul(net.forward(x as tf.Tensor4D, ['logits']).logits, w));
    const x = tf.tensor4d(x0.data, x0.shape as [number, number, number, number]);
    const g = await tf.grad(f)(x).data();
    const gmax = Math.max(...Array.from(g, Math.abs));
    const eps = 1e-2;
    for (let k = 0; k < 8; k++) {
      const i = Math.floor(r() * g.length);
      const at = (d: number) => {
        const v = x0.data.slice();
        v[i] += d;
        return tf.tidy(() => f(tf.tensor4d(v, x0.shape as [number, number, number, number])).dataSync()[0]);
      };
      const fd = (at(eps) - at(-eps)) / (2 * eps);
      expect(Math.abs(fd - g[i]) / gmax, `input ${i}: ${fd} vs ${g[i]}`).toBeLessThan(2e-2);
    }
    tf.dispose([w, x]);
    net.dispose();
  });

  describe('weight storage', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'deepvis-onnx-'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('float_data and external data give exactly the blobs of raw_data', async () => {
      const x = randn(rng(8), 2 * 3 * 37 * 33);
      const dims = [2, 3, 37, 33];
      const raw = await deepvisRun(modernOnnx(7, 'raw').bytes, x, dims);
      const typed = await deepvisRun(modernOnnx(7, 'typed').bytes, x, dims);
      const ext = modernOnnx(7, 'external');
      writeFileSync(join(dir, 'weights.bin'), ext.external!);
      const external = await deepvisRun(ext.bytes, x, dims, { baseDir: dir });
      expect(raw.blobs.size).toBeGreaterThan(30);
      for (const other of [typed, external]) {
        expect([...other.blobs.keys()]).toEqual([...raw.blobs.keys()]);
        for (const [name, b] of raw.blobs) expect(other.blobs.get(name)!.data, name).toEqual(b.data);
      }
    });

    it("the probe page's export of an imported model rebuilds the same network", async () => {
      const m = modernOnnx(11);
      const x = randn(rng(12), 2 * 3 * 37 * 33);
      const { model, blobs } = await deepvisRun(m.bytes, x, m.dims);
      const out = join(dir, 'export');
      await exportModel(model, out);
      const doc = checkExportedModel(JSON.parse(readFileSync(join(out, 'model.json'), 'utf8')));
      const shards = readdirSync(out)
        .filter((f) => f.endsWith('.bin'))
        .sort()
        .map((f) => new Uint8Array(readFileSync(join(out, f))).buffer);
      const again = toModel(doc.modelTopology, decodeGroup(doc.weightsManifest[0], shards));
      const net = createNet(again);
      const lay = nchwToLayout(x, m.dims);
      const res = net.forward(tf.tensor4d(lay.data, lay.shape as [number, number, number, number]), ['logprob', 'up', 'tokens_t']);
      for (const name of ['logprob', 'up', 'tokens_t']) {
        const want = nchwToLayout(blobs.get(name)!.data, blobs.get(name)!.dims).data;
        expect(Array.from(await res[name].data()), name).toEqual(Array.from(want));
      }
      net.dispose();
    });

    it('external data outside the model folder or missing is a one-line error', async () => {
      const ext = modernOnnx(7, 'external');
      const x = new Float32Array(2 * 3 * 37 * 33);
      await expect(deepvisRun(ext.bytes, x, [2, 3, 37, 33], { baseDir: join(dir, 'nowhere') })).rejects.toThrow(
        /cannot open external data file .*weights\.bin/,
      );
      writeFileSync(join(dir, 'weights.bin'), ext.external!.subarray(0, 100));
      await expect(deepvisRun(ext.bytes, x, [2, 3, 37, 33], { baseDir: dir })).rejects.toThrow(/does not fit/);
    });
  });
});
