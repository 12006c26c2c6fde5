/**
 * The paper's image priors, applied to a batch of network inputs x [B, H, W, 3] (network channel
 * order, mean-subtracted). Every operation is per image: no statistic crosses the batch, so an
 * image never depends on which others share its batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Preprocess } from '../../graph/types.ts';
import { type Constants, ONE_OFF } from './param/constants.ts';

/**
 * Network-input bounds of the valid 0–255 pixel range per channel, shaped [1, 1, 1, 3], or tiled
 * to `shape` (tfjs-wasm's broadcasting minimum/maximum is ~20× slower than the same-shape ones).
 */
export function pixelBounds(p: Preprocess, shape?: [number, number, number, number]): { lo: tf.Tensor4D; hi: tf.Tensor4D } {
  const lo = [0, 1, 2].map((c) => (0 * p.scale - p.mean[c]) / p.std[c]);
  const hi = [0, 1, 2].map((c) => (255 * p.scale - p.mean[c]) / p.std[c]);
  if (!shape) return { lo: tf.tensor4d(lo, [1, 1, 1, 3]), hi: tf.tensor4d(hi, [1, 1, 1, 3]) };
  const fill = (v: number[]) => {
    const n = shape[0] * shape[1] * shape[2];
    const d = new Float32Array(n * 3);
    for (let i = 0; i < n; i++) d.set(v, i * 3);
    return tf.tensor4d(d, shape);
  };
  return { lo: fill(lo), hi: fill(hi) };
}

/** Keeps every pixel inside the valid 0–255 range (the toolbox crops before each forward pass). */
export function clampToPixels(x: tf.Tensor4D, b: { lo: tf.Tensor4D; hi: tf.Tensor4D }): tf.Tensor4D {
  return tf.minimum(tf.maximum(x, b.lo), b.hi);
}

/** Gaussian kernel as scipy.ndimage.gaussian_filter builds it (truncate 4.0). */
export function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.floor(4 * sigma + 0.5);
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    k[i + radius] = Math.exp((-0.5 * i * i) / (sigma * sigma));
    sum += k[i + radius];
  }
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  return k;
}

/** Separable Gaussian blur of each channel, borders mirrored like scipy's mode='reflect'. */
export function gaussianBlur(x: tf.Tensor4D, sigma: number, k3: Constants = ONE_OFF): tf.Tensor4D {
  return tf.tidy(() => {
    const k = gaussianKernel(sigma);
    const r = (k.length - 1) / 2;
    if (r === 0) return x.clone();
    const taps = Array.from(k).flatMap((t) => [t, t, t]);
    const kv = k3.get(`blur ${sigma} v`, () => tf.tensor4d(taps, [k.length, 1, 3, 1]));
    const kh = k3.get(`blur ${sigma} h`, () => tf.tensor4d(taps, [1, k.length, 3, 1]));
    const [, h, w] = x.shape;
    if (h <= r || w <= r) throw new Error(`gaussianBlur: image ${h}×${w} is smaller than the kernel radius ${r}`);
    const padded = tf.mirrorPad(
      x,
      [
        [0, 0],
        [r, r],
        [r, r],
        [0, 0],
      ],
      'symmetric',
    );
    const v = tf.depthwiseConv2d(padded, kv, 1, 'valid');
    return tf.depthwiseConv2d(v, kh, 1, 'valid');
  });
}

/**
 * Per-image percentile of `v` [B, N] with numpy's default linear interpolation, shape [B, 1].
 * Uses top-k on the smaller side of the distribution.
 */
export function percentileRows(v: tf.Tensor2D, pct: number, k3: Constants = ONE_OFF): tf.Tensor2D {
  return tf.tidy(() => {
    const n = v.shape[1];
    const rank = (pct / 100) * (n - 1);
    const lo = Math.floor(rank);
    const hiIdx = Math.min(lo + 1, n - 1);
    const frac = rank - lo;
    let a: tf.Tensor2D;
    let b: tf.Tensor2D;
    if (pct <= 50) {
      const k = hiIdx + 1;
      const asc = tf.neg(tf.topk(tf.neg(v), k, true).values) as tf.Tensor2D; // ascending smallest k
      a = tf.slice(asc, [0, lo], [-1, 1]);
      b = tf.slice(asc, [0, hiIdx], [-1, 1]);
    } else {
      const k = n - lo;
      const desc = tf.topk(v, k, true).values as tf.Tensor2D; // desc[j] = sorted[n-1-j]
      a = tf.slice(desc, [0, n - 1 - lo], [-1, 1]);
      b = tf.slice(desc, [0, n - 1 - hiIdx], [-1, 1]);
    }
    return tf.add(a, tf.mul(tf.sub(b, a), k3.scalar(frac)));
  });
}

/** Zeroes (all channels of) the pixels whose score [B, H, W] is below the per-image percentile. */
function zeroBelowPercentile(x: tf.Tensor4D, score: tf.Tensor3D, pct: number, k3: Constants): tf.Tensor4D {
  return tf.tidy(() => {
    const [bsz, h, w] = score.shape;
    const flat = tf.reshape(score, [bsz, h * w]) as tf.Tensor2D;
    const thr = percentileRows(flat, pct, k3);
    const keep = tf.cast(tf.greaterEqual(flat, thr), 'float32');
    return tf.mul(x, tf.reshape(keep, [bsz, h, w, 1]));
  });
}

/** Zero the pixels whose RGB norm is below the `pct` percentile (toolbox: small_norm_percentile). */
export function zeroSmallNorm(x: tf.Tensor4D, pct: number, k3: Constants = ONE_OFF): tf.Tensor4D {
  return tf.tidy(() => zeroBelowPercentile(x, tf.sqrt(tf.sum(tf.square(x), 3)) as tf.Tensor3D, pct, k3));
}

/** Zero the pixels whose contribution |Σ_c x·g| is below the `pct` percentile (toolbox: px_abs_benefit_percentile). */
export function zeroSmallContribution(x: tf.Tensor4D, g: tf.Tensor4D, pct: number, k3: Constants = ONE_OFF): tf.Tensor4D {
  return tf.tidy(() => zeroBelowPercentile(x, tf.abs(tf.sum(tf.mul(x, g), 3)) as tf.Tensor3D, pct, k3));
}
