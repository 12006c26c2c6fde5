/**
 * Lucid's Fourier parameterisation: each channel is a sum of 2-D Fourier basis images whose
 * coefficients are scaled by 1/f (so every frequency starts with comparable energy), mapped
 * through decorrelated colour and a sigmoid to RGB, then randomly warped each step. Optimised with
 * Adam (ascent).
 *
 * The 2-D basis is the separable real (cos/sin) Fourier basis, orthonormal per axis; a product
 * cos(a·y)cos(b·x) mixes only the frequencies (±a, ±b), all of magnitude √(a²+b²), so scaling by
 * 1/f per coefficient is the same as Lucid's irfft2d of a 1/f-scaled spectrum. It runs as two
 * plain matrix products (no FFT kernel needed on wasm).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Preprocess } from '../../../graph/types.ts';
import type { FourierPreset } from '../presets.ts';
import type { Rng } from '../rng.ts';
import { drawSimilarity, warp, type TransformSpec } from '../transforms.ts';
import { rgbToInput, toValidRgb } from './color.ts';
import type { Parameterization } from './types.ts';
import { KeptConstants } from './constants.ts';

/** Orthonormal real Fourier basis of length n: column k is a basis vector; freq[k] in cycles/pixel. */
export function realFourierBasis(n: number): { basis: Float32Array; freq: number[] } {
  const basis = new Float32Array(n * n); // row-major [sample, column]
  const freq: number[] = [];
  let col = 0;
  const put = (f: (i: number) => number, fr: number) => {
    let norm = 0;
    for (let i = 0; i < n; i++) norm += f(i) ** 2;
    norm = Math.sqrt(norm);
    for (let i = 0; i < n; i++) basis[i * n + col] = f(i) / norm;
    freq.push(fr);
    col++;
  };
  put(() => 1, 0);
  for (let k = 1; k < n / 2; k++) {
    put((i) => Math.cos((2 * Math.PI * k * i) / n), k / n);
    put((i) => Math.sin((2 * Math.PI * k * i) / n), k / n);
  }
  if (n % 2 === 0) put((i) => (i % 2 === 0 ? 1 : -1), 0.5);
  return { basis, freq };
}

/**
 * y = A·q for a constant A, with the gradient Aᵀ·dy computed from a stored Aᵀ (tfjs-wasm's
 * transposed matMul is ~10× slower than the plain one).
 */
function constMatMul(a: tf.Tensor2D, at: tf.Tensor2D, q: tf.Tensor2D): tf.Tensor2D {
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    return { value: tf.matMul(a, x as tf.Tensor2D), gradFunc: (dy: tf.Tensor) => tf.matMul(at, dy as tf.Tensor2D) };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(q) as tf.Tensor2D;
}

/** Lucid's divisor: the image is the basis sum divided by this before the colour transform. */
const MAGIC = 4;

export class FourierParam implements Parameterization {
  readonly renderIsClean = false;
  private p: tf.Tensor4D; // [H, W, B, 3] coefficients
  private m: tf.Tensor4D;
  private v: tf.Tensor4D;
  private readonly ah: tf.Tensor2D;
  private readonly aw: tf.Tensor2D;
  private readonly aht: tf.Tensor2D;
  private readonly awt: tf.Tensor2D;
  private readonly scale: tf.Tensor4D; // [H, W, B, 3]
  private readonly spec: TransformSpec;
  private t = 0;
  private readonly k3 = new KeptConstants();

  constructor(
    private readonly preset: FourierPreset,
    private readonly rngs: Rng[],
    private readonly size: [number, number],
    private readonly pre: Preprocess,
  ) {
    const [h, w] = size;
    const b = rngs.length;
    const bh = realFourierBasis(h);
    const bw = realFourierBasis(w);
    this.ah = tf.tensor2d(bh.basis, [h, h]);
    this.aw = tf.tensor2d(bw.basis, [w, w]);
    this.aht = tf.transpose(this.ah);
    this.awt = tf.transpose(this.aw);
    // 1/f per coefficient, tiled to the full [H, W, B, 3] (broadcasting products are slow on wasm)
    const s = new Float32Array(h * w * b * 3);
    const fmin = 1 / Math.max(h, w);
    for (let i = 0; i < h; i++)
      for (let j = 0; j < w; j++)
        s.fill(1 / Math.max(Math.hypot(bh.freq[i], bw.freq[j]), fmin) ** preset.decayPower, (i * w + j) * b * 3, (i * w + j + 1) * b * 3);
    this.scale = tf.tensor4d(s, [h, w, b, 3]);
    // initial coefficients: image b draws its own h·w·3 values in (ky, kx, c) order
    const data = new Float32Array(h * w * b * 3);
    rngs.forEach((rng, bi) => {
      for (let i = 0; i < h * w; i++) for (let c = 0; c < 3; c++) data[(i * b + bi) * 3 + c] = rng.normal() * preset.initStd;
    });
    this.p = tf.tensor4d(data, [h, w, b, 3]);
    this.m = tf.zerosLike(this.p);
    this.v = tf.zerosLike(this.p);
    this.spec = { jitters: preset.jitters, scales: preset.scales, angles: preset.angles };
  }

  params(): tf.Tensor {
    return this.p;
  }

  /** Coefficients [H, W, B, 3] → RGB in (0, 1) [B, H, W, 3]. */
  private decode(p: tf.Tensor): tf.Tensor4D {
    const [h, w] = this.size;
    const b = this.rngs.length;
    const q = tf.reshape(tf.mul(p, this.scale), [h, w * b * 3]) as tf.Tensor2D;
    const y1 = constMatMul(this.ah, this.aht, q); // along y: [H, W·B·3]
    const y1t = tf.reshape(tf.transpose(tf.reshape(y1, [h, w, b * 3]), [1, 0, 2]), [w, h * b * 3]) as tf.Tensor2D;
    const y2 = tf.reshape(constMatMul(this.aw, this.awt, y1t), [w, h, b, 3]); // along x
    const img = tf.div(tf.transpose(y2, [2, 1, 0, 3]), this.k3.scalar(MAGIC)) as tf.Tensor4D; // [B, H, W, 3]
    return toValidRgb(img, this.k3);
  }

  render(p: tf.Tensor): tf.Tensor4D {
    const sims = this.rngs.map((r) => drawSimilarity(r, this.spec));
    return rgbToInput(warp(this.decode(p), sims, this.k3), this.pre, this.k3);
  }

  clean(): tf.Tensor4D {
    return tf.tidy(() => rgbToInput(this.decode(this.p), this.pre, this.k3));
  }

  update(grad: tf.Tensor): void {
    const { lr } = this.preset;
    const b1 = 0.9,
      b2 = 0.999,
      eps = 1e-8;
    this.t++;
    const k = (v: number) => this.k3.scalar(v);
    const [p, m, v] = tf.tidy(() => {
      const m = tf.add(tf.mul(this.m, k(b1)), tf.mul(grad, k(1 - b1)));
      const v = tf.add(tf.mul(this.v, k(b2)), tf.mul(tf.square(grad), k(1 - b2)));
      // The bias corrections change every step: uploaded, not kept.
      const mh = tf.div(m, 1 - b1 ** this.t);
      const vh = tf.div(v, 1 - b2 ** this.t);
      const p = tf.add(this.p, tf.mul(tf.div(mh, tf.add(tf.sqrt(vh), k(eps))), k(lr)));
      return [p, m, v] as tf.Tensor4D[];
    });
    this.p.dispose();
    this.m.dispose();
    this.v.dispose();
    this.p = p;
    this.m = m;
    this.v = v;
  }

  dispose(): void {
    for (const t of [this.p, this.m, this.v, this.ah, this.aw, this.aht, this.awt, this.scale]) t.dispose();
    this.k3.dispose();
  }
}
