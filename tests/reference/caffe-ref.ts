/**
 * An independent reference implementation of Caffe's forward pass (TEST phase), written from
 * Caffe's C++ layer semantics with plain float64 loops on C×H×W arrays, one image at a time.
 * It shares nothing with pipeline/engine/net (no TensorFlow.js): only the parsed Model (layer list and
 * weights) is taken from the importer. Used to check `deepvis activations` blob by blob.
 *
 * Semantics (Caffe source files in brackets):
 * - Convolution [conv_layer, im2col]: out = floor((H + 2p − (d(k−1)+1)) / s) + 1; weights
 *   [out, in/group, kh, kw]; groups split input and output channels in order.
 * - InnerProduct [inner_product_layer]: the bottom flattened in C,H,W order; weights [out, in].
 * - Pooling [pooling_layer]: out = ceil((H + 2p − k) / s) + 1, minus one when the last window
 *   would start in the padding ((out−1)·s ≥ H + p); MAX over the window clipped to the image;
 *   AVE divides by the window size clipped to the PADDED image (pad cells count, cells past the
 *   padded border do not); global pooling = kernel H×W, stride 1, no pad.
 * - LRN ACROSS_CHANNELS [lrn_layer]: scale = k + alpha/n · Σ x² over channels
 *   [c − (n−1)/2, c + n − 1 − (n−1)/2] clipped; out = x · scale^(−beta).
 * - ReLU with negative_slope; Softmax over channels (per spatial position); Concat on channels;
 *   Dropout and Split are identities at test time; Eltwise SUM (with coefficients) / PROD / MAX;
 *   Scale y = x·γ[c] (+ β[c]); BatchNorm y = (x − μ/s) / sqrt(σ²/s + eps), s = the third blob
 *   (0 → 0); Flatten keeps C,H,W order.
 */
import type { Layer, Model, ParamBlob } from '../../pipeline/graph/types.ts';

export interface RefBlob {
  /** [C, H, W] or [C]. */
  shape: number[];
  data: Float64Array;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const chw = (b: RefBlob): [number, number, number] =>
  b.shape.length === 3 ? [b.shape[0], b.shape[1], b.shape[2]] : b.shape.length === 1 ? [b.shape[0], 1, 1] : fail(`expected a C×H×W or C blob, got ${b.shape}`);

function fail(msg: string): never {
  throw new Error(`reference: ${msg}`);
}

/** Runs the whole graph on one C×H×W input; returns every blob's final value (after in-place layers). */
export function referenceForward(model: Model, input: ArrayLike<number>): Map<string, RefBlob> {
  const g = model.graph;
  const [c, h, w] = g.input.shape;
  if (input.length !== c * h * w) fail(`input has ${input.length} values, expected ${c}×${h}×${w}`);
  const blobs = new Map<string, RefBlob>();
  blobs.set(g.input.blob, { shape: [c, h, w], data: Float64Array.from(input) });
  for (const layer of g.layers) {
    if (layer.kind === 'input') {
      if (!blobs.has(layer.tops[0])) fail(`second input layer ${layer.name}`);
      continue;
    }
    const bottoms = layer.bottoms.map((b) => blobs.get(b) ?? fail(`layer ${layer.name}: bottom ${b} not computed`));
    const params = g.weights?.get(layer.name) ?? [];
    const outs = runLayer(layer, bottoms, params);
    layer.tops.forEach((t, i) => blobs.set(t, outs[Math.min(i, outs.length - 1)]));
  }
  return blobs;
}

function runLayer(layer: Layer, bottoms: RefBlob[], params: ParamBlob[]): RefBlob[] {
  const x = bottoms[0];
  switch (layer.kind) {
    case 'conv':
      return [conv(x, layer, params)];
    case 'fc':
      return [fc(x, layer.numOutput, layer.biasTerm, params, layer.name)];
    case 'relu': {
      const s = layer.negativeSlope;
      return [{ shape: x.shape, data: x.data.map((v) => (v > 0 ? v : v * s)) }];
    }
    case 'pool':
      return [pool(x, layer)];
    case 'lrn':
      return [lrn(x, layer.localSize, layer.alpha, layer.beta, layer.k)];
    case 'concat':
      return [concat(bottoms, layer.axis, layer.name)];
    case 'identity':
      return layer.tops.map(() => x);
    case 'softmax':
      return [softmax(x)];
    case 'flatten':
      return [{ shape: [x.data.length], data: x.data }];
    case 'eltwise':
      return [eltwise(bottoms, layer.op, layer.coeffs, layer.name)];
    case 'scale':
      return [scale(x, params, layer.biasTerm, layer.name)];
    case 'batchnorm':
      return [batchnorm(x, params, layer.eps, layer.name)];
  }
  return fail(`layer ${layer.name}: kind ${layer.kind} not handled here`);
}

function param(params: ParamBlob[], i: number, n: number, layer: string): Float32Array {
  const p = params[i] ?? fail(`layer ${layer}: parameter blob ${i} missing`);
  if (p.data.length !== n) fail(`layer ${layer}: parameter blob ${i} has ${p.data.length} values, expected ${n}`);
  return p.data;
}

function conv(x: RefBlob, l: Extract<Layer, { kind: 'conv' }>, params: ParamBlob[]): RefBlob {
  const [C, H, W] = chw(x);
  const [kh, kw] = l.kernel;
  const [sh, sw] = l.stride;
  const [ph, pw] = l.pad;
  const [dh, dw] = l.dilation;
  const G = l.group;
  const O = l.numOutput;
  if (C % G || O % G) fail(`layer ${l.name}: channels ${C}/${O} not divisible by group ${G}`);
  const Cg = C / G;
  const Og = O / G;
  const OH = Math.floor((H + 2 * ph - (dh * (kh - 1) + 1)) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - (dw * (kw - 1) + 1)) / sw) + 1;
  const wts = param(params, 0, O * Cg * kh * kw, l.name);
  const bias = l.biasTerm ? param(params, 1, O, l.name) : undefined;
  const out = new Float64Array(O * OH * OW);
  const inp = x.data;
  // Valid output ranges per kernel offset (input index inside [0, H) / [0, W)).
  const range = (k: number, d: number, s: number, p: number, n: number, on: number): [number, number] => {
    const lo = Math.max(0, Math.ceil((p - k * d) / s));
    const hi = Math.min(on - 1, Math.floor((n - 1 + p - k * d) / s));
    return [lo, hi];
  };
  const yr = Array.from({ length: kh }, (_, ky) => range(ky, dh, sh, ph, H, OH));
  const xr = Array.from({ length: kw }, (_, kx) => range(kx, dw, sw, pw, W, OW));
  for (let o = 0; o < O; o++) {
    const g = Math.floor(o / Og);
    const plane = o * OH * OW;
    if (bias) out.fill(bias[o], plane, plane + OH * OW);
    for (let ci = 0; ci < Cg; ci++) {
      const inPlane = (g * Cg + ci) * H * W;
      for (let ky = 0; ky < kh; ky++) {
        const [y0, y1] = yr[ky];
        for (let kx = 0; kx < kw; kx++) {
          const wv = wts[((o * Cg + ci) * kh + ky) * kw + kx];
          if (wv === 0) continue;
          const [x0, x1] = xr[kx];
          for (let oy = y0; oy <= y1; oy++) {
            const iy = oy * sh - ph + ky * dh;
            const row = inPlane + iy * W - pw + kx * dw;
            const orow = plane + oy * OW;
            for (let ox = x0; ox <= x1; ox++) out[orow + ox] += wv * inp[row + ox * sw];
          }
        }
      }
    }
  }
  return { shape: [O, OH, OW], data: out };
}

function fc(x: RefBlob, O: number, biasTerm: boolean, params: ParamBlob[], name: string): RefBlob {
  const I = x.data.length;
  const wts = param(params, 0, O * I, name);
  const bias = biasTerm ? param(params, 1, O, name) : undefined;
  const out = new Float64Array(O);
  for (let o = 0; o < O; o++) {
    let s = bias ? bias[o] : 0;
    const base = o * I;
    for (let i = 0; i < I; i++) s += wts[base + i] * x.data[i];
    out[o] = s;
  }
  return { shape: [O], data: out };
}

function pool(x: RefBlob, l: Extract<Layer, { kind: 'pool' }>): RefBlob {
  const [C, H, W] = chw(x);
  let [kh, kw] = l.kernel;
  let [sh, sw] = l.stride;
  let [ph, pw] = l.pad;
  if (l.global) {
    [kh, kw, sh, sw, ph, pw] = [H, W, 1, 1, 0, 0];
  }
  let OH = Math.ceil((H + 2 * ph - kh) / sh) + 1;
  let OW = Math.ceil((W + 2 * pw - kw) / sw) + 1;
  if (ph || pw) {
    if ((OH - 1) * sh >= H + ph) OH--;
    if ((OW - 1) * sw >= W + pw) OW--;
  }
  const out = new Float64Array(C * OH * OW);
  for (let c = 0; c < C; c++) {
    const plane = c * H * W;
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        let hs = oy * sh - ph;
        let ws = ox * sw - pw;
        let v: number;
        if (l.method === 'max') {
          const he = Math.min(hs + kh, H);
          const we = Math.min(ws + kw, W);
          hs = Math.max(hs, 0);
          ws = Math.max(ws, 0);
          v = -Infinity;
          for (let y = hs; y < he; y++) for (let xx = ws; xx < we; xx++) v = Math.max(v, x.data[plane + y * W + xx]);
        } else {
          let he = Math.min(hs + kh, H + ph);
          let we = Math.min(ws + kw, W + pw);
          const count = (he - hs) * (we - ws);
          hs = Math.max(hs, 0);
          ws = Math.max(ws, 0);
          he = Math.min(he, H);
          we = Math.min(we, W);
          let s = 0;
          for (let y = hs; y < he; y++) for (let xx = ws; xx < we; xx++) s += x.data[plane + y * W + xx];
          v = s / count;
        }
        out[(c * OH + oy) * OW + ox] = v;
      }
    }
  }
  return { shape: [C, OH, OW], data: out };
}

function lrn(x: RefBlob, n: number, alpha: number, beta: number, k: number): RefBlob {
  const [C, H, W] = chw(x);
  const HW = H * W;
  const pre = Math.floor((n - 1) / 2);
  const out = new Float64Array(x.data.length);
  for (let c = 0; c < C; c++) {
    const lo = Math.max(0, c - pre);
    const hi = Math.min(C - 1, c + n - 1 - pre);
    for (let i = 0; i < HW; i++) {
      let s = 0;
      for (let j = lo; j <= hi; j++) {
        const v = x.data[j * HW + i];
        s += v * v;
      }
      out[c * HW + i] = x.data[c * HW + i] * (k + (alpha / n) * s) ** -beta;
    }
  }
  return { shape: x.shape, data: out };
}

function concat(xs: RefBlob[], axis: number, name: string): RefBlob {
  if (axis !== 1) fail(`layer ${name}: concat on axis ${axis} (only channels, axis 1, is implemented)`);
  const rest = xs[0].shape.slice(1);
  for (const b of xs) if (b.shape.slice(1).join() !== rest.join()) fail(`layer ${name}: concat of ${xs.map((b) => b.shape).join(' / ')}`);
  const C = xs.reduce((a, b) => a + b.shape[0], 0);
  const out = new Float64Array(C * size(rest));
  let off = 0;
  for (const b of xs) {
    out.set(b.data, off);
    off += b.data.length;
  }
  return { shape: [C, ...rest], data: out };
}

function softmax(x: RefBlob): RefBlob {
  const [C, H, W] = chw(x);
  const HW = H * W;
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < HW; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x.data[c * HW + i]);
    let s = 0;
    for (let c = 0; c < C; c++) s += Math.exp(x.data[c * HW + i] - m);
    for (let c = 0; c < C; c++) out[c * HW + i] = Math.exp(x.data[c * HW + i] - m) / s;
  }
  return { shape: x.shape, data: out };
}

function eltwise(xs: RefBlob[], op: 'sum' | 'prod' | 'max', coeffs: number[], name: string): RefBlob {
  const n = xs[0].data.length;
  for (const b of xs) if (b.data.length !== n) fail(`layer ${name}: eltwise of different sizes`);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let v = op === 'sum' ? 0 : op === 'prod' ? 1 : -Infinity;
    xs.forEach((b, j) => {
      const a = b.data[i];
      if (op === 'sum') v += (coeffs.length ? coeffs[j] : 1) * a;
      else if (op === 'prod') v *= a;
      else v = Math.max(v, a);
    });
    out[i] = v;
  }
  return { shape: xs[0].shape, data: out };
}

function scale(x: RefBlob, params: ParamBlob[], biasTerm: boolean, name: string): RefBlob {
  const [C, H, W] = chw(x);
  const gamma = param(params, 0, C, name);
  const beta = biasTerm ? param(params, 1, C, name) : undefined;
  const out = new Float64Array(x.data.length);
  for (let c = 0; c < C; c++) for (let i = 0; i < H * W; i++) out[c * H * W + i] = x.data[c * H * W + i] * gamma[c] + (beta ? beta[c] : 0);
  return { shape: x.shape, data: out };
}

function batchnorm(x: RefBlob, params: ParamBlob[], eps: number, name: string): RefBlob {
  const [C, H, W] = chw(x);
  const mean = param(params, 0, C, name);
  const variance = param(params, 1, C, name);
  const f = param(params, 2, 1, name)[0];
  const factor = f === 0 ? 0 : 1 / f;
  const out = new Float64Array(x.data.length);
  for (let c = 0; c < C; c++) {
    const m = mean[c] * factor;
    const sd = Math.sqrt(variance[c] * factor + eps);
    for (let i = 0; i < H * W; i++) out[c * H * W + i] = (x.data[c * H * W + i] - m) / sd;
  }
  return { shape: x.shape, data: out };
}

/** Largest |a − b| over the blob divided by the reference's largest |value| (0/0 → 0). */
export function relativeError(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  if (ref.length !== got.length) return Infinity;
  let maxAbs = 0;
  let maxDiff = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ref[i]));
    const d = Math.abs(ref[i] - got[i]);
    if (!(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
  }
  return maxDiff === 0 ? 0 : maxAbs === 0 ? Infinity : maxDiff / maxAbs;
}
