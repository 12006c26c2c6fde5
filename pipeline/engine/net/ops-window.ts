import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/errors.ts';
import { pooledSize } from '../../graph/tensor-shapes.ts';
import type { ConvTransposeLayer, PadLayer, PoolingLayer } from '../../graph/tensor-layers.ts';
import type { ParamBlob } from '../../graph/types.ts';
import { tfAxis } from './layout.ts';
import type { GradMode } from './types.ts';
import { withGrad } from './custom.ts';
import { hasMaxPoolGrad, maxPoolGrad } from './kernels.ts';

/** Sliding-window ops of the extra kinds: explicit padding, ONNX/TF pooling, transposed convolution. */

export interface TensorOp {
  /** `mode`: the gradient mode of the pass (only rectifying activations follow it). */
  run(xs: tf.Tensor[], mode?: GradMode): tf.Tensor[];
  dispose(): void;
}

/** Pads (or crops, where negative) each tfjs axis by [before, after]; constant value. */
export function padConstant(x: tf.Tensor, pads: [number, number][], value: number): tf.Tensor {
  let y = x;
  if (pads.some(([a, b]) => a < 0 || b < 0)) {
    const begin = pads.map(([a]) => Math.max(-a, 0));
    const size = pads.map(([a, b], i) => y.shape[i] - Math.max(-a, 0) - Math.max(-b, 0));
    y = sliceMerged(y, begin, size);
  }
  const pos = pads.map(([a, b]) => [Math.max(a, 0), Math.max(b, 0)] as [number, number]);
  return pos.some(([a, b]) => a || b) ? tf.pad(y, pos, value) : y;
}

/**
 * tf.slice with every uncut axis merged into the axis before it (row-major, so the cut stays one
 * block): the slice runs at rank ≤ 4 where possible — tfjs-wasm slices higher ranks element by
 * element in JavaScript (timm's attention splits a rank-5 q·k·v: 4 s of ViT-Ti's 4.1 s forward).
 */
export function sliceMerged(x: tf.Tensor, begin: number[], size: number[]): tf.Tensor {
  const dims: number[] = [];
  const b: number[] = [];
  const s: number[] = [];
  x.shape.forEach((d, i) => {
    const full = begin[i] === 0 && size[i] === d;
    if (i > 0 && full) {
      const k = dims.length - 1;
      dims[k] *= d;
      b[k] *= d;
      s[k] *= d;
    } else {
      dims.push(d);
      b.push(begin[i]);
      s.push(size[i]);
    }
  });
  if (dims.length === x.rank) return tf.slice(x, begin, size);
  return tf.reshape(tf.slice(tf.reshape(x, dims), b, s), size);
}

/** Edge/reflect padding along one axis by gathering indices (differentiable through gather). */
function padByIndex(x: tf.Tensor, axis: number, before: number, after: number, mode: 'edge' | 'reflect'): tf.Tensor {
  const n = x.shape[axis];
  const idx: number[] = [];
  for (let i = -before; i < n + after; i++) {
    let j = i;
    if (mode === 'edge') j = Math.min(Math.max(i, 0), n - 1);
    else if (n > 1) {
      const period = 2 * (n - 1);
      j = ((i % period) + period) % period;
      if (j >= n) j = period - j;
    } else j = 0;
    idx.push(j);
  }
  return tf.gather(x, tf.tensor1d(idx, 'int32'), axis);
}

export function makePad(l: PadLayer, rank: number): TensorOp {
  const tfPads: [number, number][] = Array.from({ length: rank + 1 }, () => [0, 0]);
  for (let i = 0; i < rank; i++) tfPads[tfAxis(i, rank)] = [l.pads[i], l.pads[i + rank]];
  return {
    run([x]) {
      if (l.mode === 'constant') return [padConstant(x, tfPads, l.value)];
      let y = x;
      tfPads.forEach(([a, b], ax) => {
        if (a < 0 || b < 0) throw new UserError(`layer ${l.name}: negative ${l.mode} padding is not supported`);
        if (a || b) y = padByIndex(y, ax, a, b, l.mode as 'edge' | 'reflect');
      });
      return [y];
    },
    dispose() {},
  };
}

/**
 * ONNX/TF pooling on NHWC (2-D) or N×L×C (1-D, run as 2-D with H = 1). Max: pad with −∞ and take
 * 'valid' windows. Average: the window sum over zero padding divided by the number of counted
 * positions (valid input positions, plus the explicit padding when countIncludePad).
 * Dilated windows are gathered tap by tap with strided slices.
 */
export function makePooling(l: PoolingLayer): TensorOp {
  const one = l.kernel.length === 1;
  const k = one ? [1, l.kernel[0]] : l.kernel;
  const s = one ? [1, l.stride[0]] : l.stride;
  const d = one ? [1, l.dilation[0]] : l.dilation;
  const pb = one ? [0, l.padBegin[0]] : l.padBegin;
  const pe = one ? [0, l.padEnd[0]] : l.padEnd;
  const divisors = new Map<string, tf.Tensor>();

  const windows = (xp: tf.Tensor4D, oh: number, ow: number, reduce: 'max' | 'sum'): tf.Tensor4D => {
    const ext = [d[0] * (k[0] - 1) + 1, d[1] * (k[1] - 1) + 1];
    if (d[0] === 1 && d[1] === 1) {
      const crop = tf.slice(xp, [0, 0, 0, 0], [-1, (oh - 1) * s[0] + ext[0], (ow - 1) * s[1] + ext[1], -1]);
      if (reduce === 'max') return tf.maxPool(crop, [k[0], k[1]], [s[0], s[1]], 'valid');
      return tf.mul(tf.avgPool(crop, [k[0], k[1]], [s[0], s[1]], 'valid'), k[0] * k[1]);
    }
    const taps: tf.Tensor4D[] = [];
    for (let i = 0; i < k[0]; i++)
      for (let j = 0; j < k[1]; j++) {
        const b = [0, i * d[0], j * d[1], 0];
        const e = [xp.shape[0], i * d[0] + (oh - 1) * s[0] + 1, j * d[1] + (ow - 1) * s[1] + 1, xp.shape[3]];
        taps.push(tf.stridedSlice(xp, b, e, [1, s[0], s[1], 1]) as tf.Tensor4D);
      }
    return reduce === 'max' ? taps.reduce((a, t) => tf.maximum(a, t)) : (tf.addN(taps) as tf.Tensor4D);
  };

  /** Number of counted positions per output cell, [1, oh, ow, 1]. */
  const divisor = (h: number, w: number, oh: number, ow: number): tf.Tensor => {
    const key = `${h}x${w}`;
    let t = divisors.get(key);
    if (!t) {
      const axis = (n: number, i: number, o: number) => {
        const lo = l.countIncludePad ? -pb[i] : 0;
        const hi = l.countIncludePad ? n + pe[i] : n;
        let c = 0;
        for (let q = 0; q < k[i]; q++) {
          const p = o * s[i] - pb[i] + q * d[i];
          if (p >= lo && p < hi) c++;
        }
        return c;
      };
      const f = new Float32Array(oh * ow);
      for (let y = 0; y < oh; y++) for (let x = 0; x < ow; x++) f[y * ow + x] = Math.max(1, axis(h, 0, y) * axis(w, 1, x));
      t = tf.keep(tf.tensor4d(f, [1, oh, ow, 1]));
      divisors.set(key, t);
    }
    return t;
  };

  return {
    run([xin]) {
      const x = (one ? tf.expandDims(xin, 1) : xin) as tf.Tensor4D;
      const [, h, w] = x.shape;
      const oh = pooledSize(h, k[0], s[0], d[0], pb[0], pe[0], l.ceil);
      const ow = pooledSize(w, k[1], s[1], d[1], pb[1], pe[1], l.ceil);
      // Pad so that every window lies inside: begin pads, and at the end whatever the last window needs.
      const endH = Math.max((oh - 1) * s[0] + d[0] * (k[0] - 1) + 1 - h - pb[0], 0);
      const endW = Math.max((ow - 1) * s[1] + d[1] * (k[1] - 1) + 1 - w - pb[1], 0);
      let y: tf.Tensor4D;
      if (l.method === 'max') {
        const fwd = (xi: tf.Tensor4D) => {
          const pads: [number, number][] = [
            [0, 0],
            [pb[0], endH],
            [pb[1], endW],
            [0, 0],
          ];
          return windows(padConstant(xi, pads, Number.NEGATIVE_INFINITY) as tf.Tensor4D, oh, ow, 'max');
        };
        // The gradient goes to the first maximum of each window (as in PyTorch, ONNX Runtime and
        // Caffe), by the executor's switch kernel where it runs; dilated windows take the taps' chain
        // of maxima, whose ties also go to the earlier tap.
        if (hasMaxPoolGrad() && d[0] === 1 && d[1] === 1) {
          y = withGrad<tf.Tensor4D>(x, (xi, save) => {
            const value = fwd(xi as tf.Tensor4D);
            save([xi, value]);
            return {
              value,
              gradFunc: (dy, [xs, ys]) =>
                maxPoolGrad(xs as tf.Tensor4D, ys as tf.Tensor4D, dy, { kh: k[0], kw: k[1], sh: s[0], sw: s[1], pt: pb[0], pl: pb[1] }),
            };
          });
        } else y = fwd(x);
      } else {
        const xp = padConstant(
          x,
          [
            [0, 0],
            [pb[0], endH],
            [pb[1], endW],
            [0, 0],
          ],
          0,
        ) as tf.Tensor4D;
        y = tf.div(windows(xp, oh, ow, 'sum'), divisor(h, w, oh, ow));
      }
      return [one ? tf.squeeze(y, [1]) : y];
    },
    dispose() {
      for (const t of divisors.values()) t.dispose();
      divisors.clear();
    },
  };
}

/** Inserts d−1 zeros between kernel taps: [kh, kw, o, i] → [d(kh−1)+1, …]. */
function dilate(w: Float32Array, kh: number, kw: number, o: number, i: number, dh: number, dw: number) {
  const KH = dh * (kh - 1) + 1,
    KW = dw * (kw - 1) + 1;
  const out = new Float32Array(KH * KW * o * i);
  for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) out.set(w.subarray((y * kw + x) * o * i, (y * kw + x + 1) * o * i), (y * dh * KW + x * dw) * o * i);
  return { data: out, kh: KH, kw: KW };
}

/**
 * ONNX ConvTranspose on NHWC: per group, tf.conv2dTranspose with 'valid' padding on the
 * (dilated) kernel gives the full output (in−1)·s + k'; the pads are then cropped from it and the
 * output padding added as zeros at the end.
 */
export function makeConvTranspose(l: ConvTransposeLayer, params: ParamBlob[] | undefined, inChannels: number): TensorOp {
  if (!params?.length) throw new UserError(`layer ${l.name}: no weights`);
  const G = l.group;
  const Og = l.numOutput / G,
    Ig = inChannels / G;
  const [kh, kw] = l.kernel;
  const w = params[0].data;
  if (w.length !== inChannels * Og * kh * kw) throw new UserError(`layer ${l.name}: weights have ${w.length} values, expected ${inChannels}×${Og}×${kh}×${kw}`);
  const b = l.biasTerm ? params[1]?.data : undefined;
  if (l.biasTerm && b?.length !== l.numOutput) throw new UserError(`layer ${l.name}: bias must have ${l.numOutput} values`);
  const filters: tf.Tensor4D[] = [];
  let KH = kh,
    KW = kw;
  for (let g = 0; g < G; g++) {
    // ONNX [in, out/G, kh, kw] → tfjs [kh, kw, out, in] for this group.
    const f = new Float32Array(kh * kw * Og * Ig);
    for (let ci = 0; ci < Ig; ci++)
      for (let co = 0; co < Og; co++)
        for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) f[((y * kw + x) * Og + co) * Ig + ci] = w[(((g * Ig + ci) * Og + co) * kh + y) * kw + x];
    const dl = dilate(f, kh, kw, Og, Ig, l.dilation[0], l.dilation[1]);
    KH = dl.kh;
    KW = dl.kw;
    filters.push(tf.tensor4d(dl.data, [KH, KW, Og, Ig]));
  }
  const bias = b ? tf.tensor1d(b) : undefined;
  const [sh, sw] = l.stride;
  return {
    run([xin]) {
      const x = xin as tf.Tensor4D;
      const [n, h, wd] = x.shape;
      const full: [number, number, number, number] = [n, (h - 1) * sh + KH, (wd - 1) * sw + KW, Og];
      const parts = (G === 1 ? [x] : tf.split(x, G, 3)).map((xg, g) => tf.conv2dTranspose(xg as tf.Tensor4D, filters[g], full, [sh, sw], 'valid'));
      let y: tf.Tensor = G === 1 ? parts[0] : tf.concat(parts, 3);
      y = padConstant(
        y,
        [
          [0, 0],
          [-l.padBegin[0], l.outputPadding[0] - l.padEnd[0]],
          [-l.padBegin[1], l.outputPadding[1] - l.padEnd[1]],
          [0, 0],
        ],
        0,
      );
      return [bias ? tf.add(y, bias) : y];
    },
    dispose() {
      for (const f of filters) f.dispose();
      bias?.dispose();
    },
  };
}
