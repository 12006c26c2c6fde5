// The WebGPU backend (TensorFlow.js WebGPU on Dawn) on SwiftShader, against wasm on the same
// inputs: every blob of SqueezeNet and GoogLeNet, and input gradients of a class unit and a hidden
// unit in each gradient mode. SwiftShader runs WebGPU on the CPU: this checks correctness, not
// speed (one image per model).
import * as tf from '@tensorflow/tfjs-core';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../pipeline/engine/backend.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import type { GradMode, Net } from '../pipeline/engine/net/types.ts';
import { classScoreBlob } from '../pipeline/graph/classes.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { requireAssets } from './helpers/assets.ts';
import { requireSwiftshader } from './helpers/swiftshader.ts';

const assets = requireAssets();
const swiftshader = requireSwiftshader();
const skip = !assets.dir || !swiftshader.ok;
const why = assets.skipReason ?? swiftshader.skipReason ?? '';

const MODES: GradMode[] = ['backprop', 'deconv', 'guided'];

/** max |a − b| / max |a|. */
function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(a[i]));
  }
  return d / (m || 1);
}

/** A hidden blob in the middle of the net (a conv/inception output). */
function middleBlob(model: Model): string {
  const convs = model.graph.layers.filter((l) => l.kind === 'conv' || l.kind === 'concat').map((l) => l.tops[0]);
  return convs[Math.floor(convs.length * 0.6)];
}

interface Results {
  blobs: Map<string, Float32Array>;
  /** `${blob} ${mode}` → dL/dinput. */
  grads: Map<string, Float32Array>;
}

/** The models compared (GoogLeNet: ~3 minutes on SwiftShader, 2 cores; LRN and inception concats). */
const MODELS = ['squeezenet_v1.1', 'bvlc_googlenet'];

/** Every blob and the input gradients, on the backend TensorFlow.js is on now. */
async function compute(model: Model, input: Float32Array, shape: number[]): Promise<Results> {
  const net: Net = createNet(model);
  try {
    const x = tf.tensor4d(input, shape as [number, number, number, number]);
    const names = model.graph.blobs.map((b) => b.name).filter((b) => b !== model.graph.input.blob);
    const outs = net.forward(x, names);
    // Asynchronous reads: the WebGPU backend's synchronous one needs OffscreenCanvas (not in Node).
    const blobs = new Map<string, Float32Array>();
    for (const b of names) blobs.set(b, (await outs[b].data()) as Float32Array);
    tf.dispose(Object.values(outs));
    const grads = new Map<string, Float32Array>();
    for (const blob of [classScoreBlob(model), middleBlob(model)]) {
      const s = model.graph.blobs.find((b) => b.name === blob)!.shape;
      // One unit: a class score, or the centre of one channel.
      const seed = tf.tidy(() => {
        const t = tf.buffer(s.length === 3 ? [1, s[1], s[2], s[0]] : [1, s[0]]);
        if (s.length === 3) t.set(1, 0, s[1] >> 1, s[2] >> 1, 5 % s[0]);
        else t.set(1, 0, 5 % s[0]);
        return t.toTensor();
      });
      for (const mode of MODES) {
        const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(net.forward(xi as tf.Tensor4D, [blob], { gradMode: mode })[blob], seed)))(x);
        grads.set(`${blob} ${mode}`, (await g.data()) as Float32Array);
        g.dispose();
      }
      seed.dispose();
    }
    x.dispose();
    return { blobs, grads };
  } finally {
    net.dispose();
  }
}

describe.skipIf(skip)(`webgpu on SwiftShader = wasm ${why}`, () => {
  const previous = process.env.DEEPVIS_GPU_ADAPTER;
  beforeAll(() => {
    process.env.DEEPVIS_GPU_ADAPTER = 'swiftshader';
  });
  afterAll(() => {
    if (previous === undefined) delete process.env.DEEPVIS_GPU_ADAPTER;
    else process.env.DEEPVIS_GPU_ADAPTER = previous;
  });

  for (const name of MODELS) {
    describe(name, () => {
      let wasm: Results;
      let gpu: Results;
      beforeAll(async () => {
        const model = await loadModel(join(assets.dir!, 'models', name));
        const [C, H, W] = model.graph.input.shape;
        await initBackend('wasm');
        const input = tf.tidy(() => tf.randomUniform([1, H, W, C], -60, 60, 'float32', 7).dataSync() as Float32Array);
        wasm = await compute(model, input, [1, H, W, C]);
        expect(await initBackend('webgpu')).toBe('webgpu');
        gpu = await compute(model, input, [1, H, W, C]);
        await initBackend('wasm');
      }, 900_000);

      it('every blob within 1e-4 relative', () => {
        const off = [...wasm.blobs].map(([b, a]) => ({ b, rel: maxRel(a, gpu.blobs.get(b)!) })).filter((r) => !(r.rel <= 1e-4));
        expect(off).toEqual([]);
      });

      it('input gradients of a class unit and a hidden unit, in every mode, within 1e-3', () => {
        const off = [...wasm.grads].map(([k, a]) => ({ k, rel: maxRel(a, gpu.grads.get(k)!) })).filter((r) => !(r.rel <= 1e-3));
        expect(off).toEqual([]);
      });
    });
  }
});
