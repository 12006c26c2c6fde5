// The ONNX Runtime engine (--backend onnxruntime) against the TensorFlow.js executor on the same
// inputs: every blob, and input gradients of a class unit and a hidden unit in each gradient mode,
// on GoogLeNet, SqueezeNet (their real weights) and CaffeNet (random weights: groups, LRN, fc).
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../pipeline/engine/backend.ts';
import { createNet as createTfjsNet } from '../pipeline/engine/net/build.ts';
import type { Net } from '../pipeline/engine/net/types.ts';
import { restrictableBlobs } from '../pipeline/engine/ort/export.ts';
import { createOrtNet } from '../pipeline/engine/ort/net.ts';
import { classScoreBlob, findProbBlob } from '../pipeline/graph/classes.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { withRandomWeights } from '../pipeline/import/random-weights.ts';
import { maxArgmaxNhwc } from '../pipeline/stages/scan/handlers.ts';
import { requireAssets } from './helpers/assets.ts';
import { expectEveryBlobClose, inputGrad, maxRel } from './helpers/net-compare.ts';

const assets = requireAssets();

/** ‖a − b‖ / ‖a‖. */
const l2Rel = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.norm(tf.sub(a, b)).dataSync()[0] / (tf.norm(a).dataSync()[0] || 1));

/** A hidden blob in the middle of the net (a conv/inception output). */
function middleBlob(model: Model): string {
  const convs = model.graph.layers.filter((l) => l.kind === 'conv' || l.kind === 'concat').map((l) => l.tops[0]);
  return convs[Math.floor(convs.length * 0.6)];
}

const MODELS: { name: string; load: () => Promise<Model> }[] = [
  { name: 'bvlc_googlenet', load: () => loadModel(join(assets.dir ?? '', 'models', 'bvlc_googlenet')) },
  { name: 'squeezenet_v1.1', load: () => loadModel(join(assets.dir ?? '', 'models', 'squeezenet_v1.1')) },
  {
    name: 'CaffeNet (random weights)',
    load: async () =>
      withRandomWeights(await loadModel(join(assets.dir ?? '', 'models', 'caffenet-yos', 'caffenet-yos-deploy.prototxt'), { weights: false }), 5),
  },
];

describe.skipIf(!assets.dir)(`onnxruntime engine = TensorFlow.js executor ${assets.skipReason ?? ''}`, () => {
  beforeAll(async () => {
    await initBackend('onnxruntime');
  });

  for (const m of MODELS) {
    describe(m.name, () => {
      let model: Model;
      let ref: Net;
      let stock: Net;
      let ort: Net;
      let x: tf.Tensor4D;
      beforeAll(async () => {
        model = await m.load();
        ref = createTfjsNet(model);
        stock = createTfjsNet(model, { fastGrad: false });
        ort = createOrtNet(model, { threads: 2 });
        const [C, H, W] = model.graph.input.shape;
        x = tf.randomUniform([2, H, W, C], -60, 60, 'float32', 11) as tf.Tensor4D;
      }, 300_000);

      it('every blob within 1e-4 relative', () => {
        expectEveryBlobClose(model, ref, ort, x, 1e-4);
      });

      it("a scan's reductions in ONNX Runtime's graph: the executor's blobs reduced in JavaScript", () => {
        const probBlob = findProbBlob(model)!;
        const blobs = [...new Set(model.graph.layers.filter((l) => l.kind === 'conv' || l.kind === 'concat' || l.kind === 'fc').map((l) => l.tops[0]))];
        const corrBlobs = blobs.filter((b) => b !== probBlob).slice(0, 6);
        const r = ort.scanReduce!(x, { blobs, probBlob, corrBlobs });
        const outs = ref.forward(x, [...blobs, probBlob]);
        const n = x.shape[0];
        let units = 0;
        let moved = 0;
        const maxima = new Map<string, Float32Array>();
        blobs.forEach((b, i) => {
          const o = outs[b];
          const data = o.dataSync() as Float32Array;
          const c = o.shape[o.rank - 1];
          const want = o.rank === 4 ? maxArgmaxNhwc(data, n, o.shape[1]! * o.shape[2]!, c) : { values: data, positions: null };
          maxima.set(b, want.values);
          const scale = Math.max(...want.values.map(Math.abs)) || 1;
          for (let j = 0; j < want.values.length; j++) expect(Math.abs(r.values[i][j] - want.values[j]) / scale, `${b}[${j}]`).toBeLessThan(1e-4);
          if (want.positions) {
            units += want.positions.length;
            // A position may differ only where two values of the map are within float rounding.
            for (let j = 0; j < want.positions.length; j++) if (r.positions[i]![j] !== want.positions[j]) moved++;
          } else expect(r.positions[i]).toBeNull();
        });
        expect(moved / units).toBeLessThan(0.005);
        const p = outs[probBlob].dataSync() as Float32Array;
        expect(maxRel(tf.tensor(r.probs!), tf.tensor(p))).toBeLessThan(1e-4);
        const acts = corrBlobs.map((b) => ({ v: maxima.get(b)!, c: maxima.get(b)!.length / n }));
        const U = acts.reduce((a, b) => a + b.c, 0);
        const K = p.length / n;
        const cross = new Float32Array(U * K);
        let off = 0;
        for (const { v, c } of acts) {
          for (let u = 0; u < c; u++) for (let k = 0; k < K; k++) for (let i = 0; i < n; i++) cross[(off + u) * K + k] += v[i * c + u] * p[i * K + k];
          off += c;
        }
        expect(maxRel(tf.tensor(cross), tf.tensor(r.cross!))).toBeLessThan(1e-4);
        tf.dispose(Object.values(outs));
      });

      it('chosen channels (the Net `channels` option): computed alone where a conv or fc makes them, values and gradients as the executor', () => {
        const cls = classScoreBlob(model);
        const firstConv = model.graph.layers.find((l) => l.kind === 'conv')!.tops[0];
        // The class blob and the first conv are made by a restrictable layer (SqueezeNet's pool10
        // through ReLU and a whole-map average); the middle blob of GoogLeNet (a concat) is cut after.
        expect(restrictableBlobs(model, [cls], [cls])).toEqual([cls]);
        expect(restrictableBlobs(model, [firstConv], [firstConv])).toEqual([firstConv]);
        for (const blob of [cls, firstConv, middleBlob(model)]) {
          const channels = [5, 2, 5, 9]; // a repeat, out of order
          const a = ref.forward(x, [blob], { channels: { [blob]: channels } })[blob];
          const b = ort.forward(x, [blob], { channels: { [blob]: channels } })[blob];
          expect(b.shape, blob).toEqual(a.shape);
          expect(b.shape.at(-1)).toBe(4);
          expect(maxRel(a, b), blob).toBeLessThan(1e-4);
          const seed = tf.randomUniform(a.shape, 0, 1, 'float32', 3);
          const ga = inputGrad(stock, x, blob, seed, 'backprop', channels);
          const gb = inputGrad(ort, x, blob, seed, 'backprop', channels);
          expect(l2Rel(ga, gb), blob).toBeLessThan(1e-3);
          expect(maxRel(ga, gb), blob).toBeLessThan(1e-3);
          tf.dispose([a, b, seed, ga, gb]);
        }
        expect(() => ort.forward(x, [cls], { channels: { [cls]: [100000] } })).toThrow(/channels; no channel 100000/);
      });

      for (const mode of ['backprop', 'deconv', 'guided'] as const) {
        it(`input gradients of a class unit and a hidden unit, ${mode}`, () => {
          for (const blob of [classScoreBlob(model), middleBlob(model)]) {
            const shape = ref.forward(x, [blob])[blob].shape;
            // One unit per image: a class score, or the centre of one channel.
            const seed = tf.tidy(() => {
              const s = tf.buffer(shape);
              for (let n = 0; n < shape[0]; n++) {
                const c = (n * 37 + 5) % shape[shape.length - 1];
                if (shape.length === 4) s.set(1, n, shape[1] >> 1, shape[2] >> 1, c);
                else s.set(1, n, c);
              }
              return s.toTensor();
            });
            // backprop against the executor's reference path (TensorFlow.js's own op gradients);
            // deconv and guided have their ReLU rules on the fast path only.
            const ga = inputGrad(mode === 'backprop' ? stock : ref, x, blob, seed, mode);
            const gb = inputGrad(ort, x, blob, seed, mode);
            const what = `${blob} ${mode}: max rel ${maxRel(ga, gb).toExponential(2)}, l2 rel ${l2Rel(ga, gb).toExponential(2)}`;
            // As a whole (L2) within 1e-3. Element by element within 1e-3 of the map's maximum in
            // backprop; in deconv and guided, where every max-pool switch passes the gradient on
            // whatever the ReLUs did, a window whose two largest inputs are within float rounding
            // of each other may switch on the other engine (GoogLeNet's overlapping 3×3 pools in
            // every inception block): up to 6e-3 measured on its class units, so 1e-2 there.
            expect(l2Rel(ga, gb), what).toBeLessThan(1e-3);
            expect(maxRel(ga, gb), what).toBeLessThan(mode === 'backprop' ? 1e-3 : 1e-2);
            tf.dispose([seed, ga, gb]);
          }
        });
      }
    });
  }
});

describe('onnxruntime engine: what it cannot express exactly it refuses, naming the layer', () => {
  it('an Eltwise MAX gradient', async () => {
    await initBackend('onnxruntime');
    const dir = await mkdtemp(join(tmpdir(), 'deepvis-ort-'));
    await writeFile(
      join(dir, 'deploy.prototxt'),
      `name: "m"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 16 dim: 16 } } }
layer { name: "a" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "b" type: "Convolution" bottom: "data" top: "b" convolution_param { num_output: 4 kernel_size: 3 } }
layer { name: "m" type: "Eltwise" bottom: "a" bottom: "b" top: "m" eltwise_param { operation: MAX } }
`,
    );
    const model = withRandomWeights(await loadModel(join(dir, 'deploy.prototxt'), { weights: false }), 1);
    const net = createOrtNet(model, { threads: 1 });
    const x = tf.randomNormal([1, 16, 16, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
    const ref = createTfjsNet(model);
    expect(maxRel(ref.forward(x, ['m']).m, net.forward(x, ['m']).m)).toBeLessThan(1e-5);
    expect(() => tf.grad((xi: tf.Tensor) => tf.sum(net.forward(xi as tf.Tensor4D, ['m']).m))(x)).toThrow(
      /^layer m: the gradient of Eltwise MAX is not supported by the onnxruntime backend \(use --backend wasm\)$/,
    );
  });
});
