import * as tf from '@tensorflow/tfjs-core';
import type { PoolLayer } from '../../graph/types.ts';
import { withGrad } from './custom.ts';
import { hasMaxPoolGrad, maxPoolGrad } from './kernels.ts';

/** Caffe's pooled size: ceil((in + 2p − k)/s) + 1, minus one if the last window starts past in + p. */
export function caffePooledSize(inSize: number, k: number, s: number, p: number): number {
  let out = Math.ceil((inSize + 2 * p - k) / s) + 1;
  if (p > 0 && (out - 1) * s >= inSize + p) out--;
  return out;
}

/** Pads (or crops, where negative) H and W of an NHWC tensor: [top, bottom, left, right]. */
function padOrCrop(x: tf.Tensor4D, t: number, b: number, l: number, r: number, value: number): tf.Tensor4D {
  const [, H, W] = x.shape;
  let y = x;
  if (t < 0 || b < 0 || l < 0 || r < 0) {
    const ct = Math.max(-t, 0),
      cb = Math.max(-b, 0),
      cl = Math.max(-l, 0),
      cr = Math.max(-r, 0);
    y = tf.slice(y, [0, ct, cl, 0], [-1, H - ct - cb, W - cl - cr, -1]);
  }
  const pt = Math.max(t, 0),
    pb = Math.max(b, 0),
    pl = Math.max(l, 0),
    pr = Math.max(r, 0);
  if (pt || pb || pl || pr)
    y = tf.pad(
      y,
      [
        [0, 0],
        [pt, pb],
        [pl, pr],
        [0, 0],
      ],
      value,
    );
  return y;
}

/** Adjoint of padOrCrop: drops what was padded, zero-fills what was cropped. */
function unpadOrCrop(d: tf.Tensor4D, t: number, b: number, l: number, r: number): tf.Tensor4D {
  const [, H, W] = d.shape;
  const pt = Math.max(t, 0),
    pb = Math.max(b, 0),
    pl = Math.max(l, 0),
    pr = Math.max(r, 0);
  let y = pt || pb || pl || pr ? tf.slice(d, [0, pt, pl, 0], [-1, H - pt - pb, W - pl - pr, -1]) : d;
  const ct = Math.max(-t, 0),
    cb = Math.max(-b, 0),
    cl = Math.max(-l, 0),
    cr = Math.max(-r, 0);
  if (ct || cb || cl || cr)
    y = tf.pad(y, [
      [0, 0],
      [ct, cb],
      [cl, cr],
      [0, 0],
    ]);
  return y;
}

/**
 * Caffe Pooling on NHWC. The input is padded explicitly (max: −∞, so padding never wins; ave: 0)
 * up to Caffe's CEIL output size, then pooled with 'valid' windows. Caffe's AVE divides by the
 * window clipped to [−p, in + p) — padding counts, the ceil overhang does not — so the mean over
 * the full window is rescaled by k²/size per output position where those differ.
 */
export function makePool(layer: PoolLayer, bottomShape: number[], fastGrad: boolean): { apply(x: tf.Tensor): tf.Tensor; dispose(): void } {
  /** Per-position factor k_h·k_w / (Caffe's divisor); null when it is 1 everywhere. */
  const aveScale = (H: number, W: number) => {
    const [kh, kw] = layer.kernel,
      [sh, sw] = layer.stride,
      [ph, pw] = layer.pad;
    const OH = caffePooledSize(H, kh, sh, ph),
      OW = caffePooledSize(W, kw, sw, pw);
    const f = new Float32Array(OH * OW);
    let trivial = true;
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        const hs = i * sh - ph,
          ws = j * sw - pw;
        const size = (Math.min(hs + kh, H + ph) - hs) * (Math.min(ws + kw, W + pw) - ws);
        f[i * OW + j] = (kh * kw) / size;
        if (size !== kh * kw) trivial = false;
      }
    return trivial ? null : tf.tensor4d(f, [1, OH, OW, 1]);
  };
  // Made once for the blob's shape (the net's input size is fixed).
  const [, bh, bw] = bottomShape;
  const scale = layer.method === 'ave' && !layer.global && bottomShape.length === 3 ? aveScale(bh, bw) : null;

  return {
    apply(xin: tf.Tensor) {
      const x = xin as tf.Tensor4D;
      const [, H, W] = x.shape;
      if (layer.global) return layer.method === 'max' ? tf.max(x, [1, 2], true) : tf.mean(x, [1, 2], true);
      const [kh, kw] = layer.kernel,
        [sh, sw] = layer.stride,
        [ph, pw] = layer.pad;
      const OH = caffePooledSize(H, kh, sh, ph),
        OW = caffePooledSize(W, kw, sw, pw);
      const bottom = (OH - 1) * sh + kh - H - ph,
        right = (OW - 1) * sw + kw - W - pw;
      if (layer.method === 'max') {
        const pad = (xi: tf.Tensor4D) => padOrCrop(xi, ph, bottom, pw, right, Number.NEGATIVE_INFINITY);
        const fwd = (xi: tf.Tensor4D) => tf.maxPool(pad(xi), [kh, kw], [sh, sw], 'valid');
        if (!fastGrad) return fwd(x);
        // Gradient routed by the forward switches (the first maximum of each window): the executor's
        // own kernel on wasm, cpu and webgpu, else tfjs's MaxPoolGrad.
        const stockGrad = (xs: tf.Tensor4D, dy: tf.Tensor4D) => {
          const xp = pad(xs);
          const y = tf.maxPool(xp, [kh, kw], [sh, sw], 'valid');
          const attrs = { filterSize: [kh, kw], strides: [sh, sw], pad: 'valid' };
          const dxp = tf.engine().runKernel('MaxPoolGrad', { dy, input: xp, output: y }, attrs) as tf.Tensor4D;
          return unpadOrCrop(dxp, ph, bottom, pw, right);
        };
        return withGrad<tf.Tensor4D>(x, (xi, save) => {
          const value = fwd(xi as tf.Tensor4D);
          save([xi, value]);
          return {
            value,
            gradFunc: (dy, [xs, ys]) =>
              hasMaxPoolGrad() ? maxPoolGrad(xs as tf.Tensor4D, ys as tf.Tensor4D, dy, { kh, kw, sh, sw, pt: ph, pl: pw }) : stockGrad(xs as tf.Tensor4D, dy),
          };
        });
      }
      const xp = padOrCrop(x, ph, bottom, pw, right, 0);
      const y = tf.avgPool(xp, [kh, kw], [sh, sw], 'valid');
      const f = H === bh && W === bw ? scale : aveScale(H, W);
      return f ? tf.mul(y, f) : y;
    },
    dispose() {
      scale?.dispose();
    },
  };
}
