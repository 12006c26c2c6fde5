// The executor's own WGSL kernels (pipeline/engine/net/webgpu-kernels.ts) on SwiftShader, each
// against tfjs-webgpu's stock kernel for the same gradient and against the CPU loop kernel of
// the wasm backend, on small shapes.
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../pipeline/engine/backend.ts';
import { lrnLoop, lrnOwnGrad, maxPoolGrad } from '../pipeline/engine/net/kernels.ts';
import { requireSwiftshader } from './helpers/swiftshader.ts';

const swiftshader = requireSwiftshader();

/** max |a − b| / max |b|. */
function maxRel(a: Float32Array, b: Float32Array): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / (m || 1);
}

const LRN = { size: 5, alpha: 1e-4, beta: 0.75, k: 1 };
const SHAPE: [number, number, number, number] = [2, 5, 7, 19];

/** dx of Σ y·w for LRN on webgpu: ours, and tfjs's (localResponseNormalization's own gradient). */
async function lrnGrads(x: Float32Array, w: Float32Array) {
  const xt = tf.tensor4d(x, SHAPE);
  const wt = tf.tensor4d(w, SHAPE);
  const ours = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(lrnOwnGrad(xi as tf.Tensor4D, LRN), wt)))(xt);
  const stock = tf.grad((xi: tf.Tensor) =>
    tf.sum(tf.mul(tf.localResponseNormalization(xi as tf.Tensor4D, (LRN.size - 1) / 2, LRN.k, LRN.alpha / LRN.size, LRN.beta), wt)),
  )(xt);
  const out = { ours: (await ours.data()) as Float32Array, stock: (await stock.data()) as Float32Array };
  tf.dispose([xt, wt, ours, stock]);
  return out;
}

describe.skipIf(!swiftshader.ok)(`the executor's WGSL kernels ${swiftshader.skipReason ?? ''}`, () => {
  const previous = process.env.DEEPVIS_GPU_ADAPTER;
  // Inputs with values large enough that LRN's normaliser departs from k, and no ties in pool windows.
  const x = Float32Array.from({ length: SHAPE.reduce((a, b) => a * b) }, (_, i) => 40 * Math.sin(i * 12.9898) + ((i * 7) % 13));
  const w = Float32Array.from({ length: x.length }, (_, i) => Math.cos(i * 78.233));
  beforeAll(async () => {
    process.env.DEEPVIS_GPU_ADAPTER = 'swiftshader';
    expect(await initBackend('webgpu')).toBe('webgpu');
  }, 120_000);
  afterAll(async () => {
    await initBackend('wasm');
    if (previous === undefined) delete process.env.DEEPVIS_GPU_ADAPTER;
    else process.env.DEEPVIS_GPU_ADAPTER = previous;
  });

  it('LRN input gradient = tfjs-webgpu LRNGrad and the wasm loop kernel, within 1e-5', async () => {
    const gpu = await lrnGrads(x, w);
    expect(maxRel(gpu.ours, gpu.stock)).toBeLessThan(1e-5);
    await initBackend('wasm');
    const xt = tf.tensor4d(x, SHAPE);
    const wt = tf.tensor4d(w, SHAPE);
    const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(lrnLoop(xi as tf.Tensor4D, LRN), wt)))(xt);
    const cpu = g.dataSync() as Float32Array;
    tf.dispose([xt, wt, g]);
    await initBackend('webgpu');
    expect(maxRel(gpu.ours, cpu)).toBeLessThan(1e-5);
  });

  it('max-pool switch gradient = tfjs-webgpu MaxPoolGrad where windows have no ties (3×3 stride 2)', async () => {
    const xt = tf.tensor4d(x, SHAPE);
    // 5×7 → 2×3 windows of 3×3 stride 2. (At ties the two differ on purpose: Caffe's switch is
    // the first maximum, tfjs-webgpu's the last.)
    const y = tf.maxPool(xt, 3, 2, 'valid');
    const dy = tf.tensor4d(
      Float32Array.from({ length: y.size }, (_, i) => 1 + (i % 5)),
      y.shape,
    );
    const ours = maxPoolGrad(xt, y, dy, { kh: 3, kw: 3, sh: 2, sw: 2, pt: 0, pl: 0 });
    const stock = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(xi as tf.Tensor4D, 3, 2, 'valid'), dy)))(xt);
    expect(maxRel((await ours.data()) as Float32Array, (await stock.data()) as Float32Array)).toBe(0);
    tf.dispose([xt, y, dy, ours, stock]);
  });
});
