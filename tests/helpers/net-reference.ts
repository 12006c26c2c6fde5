/**
 * An independent float64 interpreter of Caffe semantics, written as Caffe's CPU loops are
 * (NCHW, one scalar at a time), to check the TensorFlow.js executor against.
 */
import type { Graph, Layer } from '../../pipeline/graph/types.ts';

export interface Arr {
  shape: number[];
  data: Float64Array;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

function conv(l: Extract<Layer, { kind: 'conv' }>, x: Arr, w: Float32Array[]): Arr {
  const [N, C, H, W] = x.shape;
  const [kh, kw] = l.kernel,
    [sh, sw] = l.stride,
    [ph, pw] = l.pad,
    [dh, dw] = l.dilation;
  const G = l.group,
    O = l.numOutput,
    Ig = C / G,
    Og = O / G;
  const OH = Math.floor((H + 2 * ph - (dh * (kh - 1) + 1)) / sh) + 1;
  const OW = Math.floor((W + 2 * pw - (dw * (kw - 1) + 1)) / sw) + 1;
  const out = new Float64Array(N * O * OH * OW);
  for (let n = 0; n < N; n++)
    for (let o = 0; o < O; o++) {
      const g = Math.floor(o / Og);
      for (let i = 0; i < OH; i++)
        for (let j = 0; j < OW; j++) {
          let acc = l.biasTerm ? w[1][o] : 0;
          for (let c = 0; c < Ig; c++)
            for (let u = 0; u < kh; u++) {
              const y = i * sh - ph + u * dh;
              if (y < 0 || y >= H) continue;
              for (let v = 0; v < kw; v++) {
                const xx = j * sw - pw + v * dw;
                if (xx < 0 || xx >= W) continue;
                acc += w[0][((o * Ig + c) * kh + u) * kw + v] * x.data[((n * C + g * Ig + c) * H + y) * W + xx];
              }
            }
          out[((n * O + o) * OH + i) * OW + j] = acc;
        }
    }
  return { shape: [N, O, OH, OW], data: out };
}

function pool(l: Extract<Layer, { kind: 'pool' }>, x: Arr): Arr {
  const [N, C, H, W] = x.shape;
  const [kh, kw] = l.global ? [H, W] : l.kernel,
    [sh, sw] = l.global ? [1, 1] : l.stride,
    [ph, pw] = l.global ? [0, 0] : l.pad;
  let OH = Math.ceil((H + 2 * ph - kh) / sh) + 1,
    OW = Math.ceil((W + 2 * pw - kw) / sw) + 1;
  if (ph > 0 && (OH - 1) * sh >= H + ph) OH--;
  if (pw > 0 && (OW - 1) * sw >= W + pw) OW--;
  const out = new Float64Array(N * C * OH * OW);
  for (let nc = 0; nc < N * C; nc++)
    for (let i = 0; i < OH; i++)
      for (let j = 0; j < OW; j++) {
        let hs = i * sh - ph,
          ws = j * sw - pw;
        let he = Math.min(hs + kh, H + ph),
          we = Math.min(ws + kw, W + pw);
        const poolSize = (he - hs) * (we - ws);
        hs = Math.max(hs, 0);
        ws = Math.max(ws, 0);
        he = Math.min(he, H);
        we = Math.min(we, W);
        let acc = l.method === 'max' ? -Infinity : 0;
        for (let y = hs; y < he; y++)
          for (let xx = ws; xx < we; xx++) {
            const v = x.data[(nc * H + y) * W + xx];
            acc = l.method === 'max' ? Math.max(acc, v) : acc + v;
          }
        out[(nc * OH + i) * OW + j] = l.method === 'max' ? acc : acc / poolSize;
      }
  return { shape: [N, C, OH, OW], data: out };
}

function lrn(l: Extract<Layer, { kind: 'lrn' }>, x: Arr): Arr {
  const [N, C, H, W] = x.shape;
  const out = new Float64Array(x.data.length);
  const r = (l.localSize - 1) / 2;
  for (let n = 0; n < N; n++)
    for (let c = 0; c < C; c++)
      for (let p = 0; p < H * W; p++) {
        let s = 0;
        for (let cc = Math.max(0, c - r); cc <= Math.min(C - 1, c + r); cc++) s += x.data[(n * C + cc) * H * W + p] ** 2;
        const i = (n * C + c) * H * W + p;
        out[i] = x.data[i] * (l.k + (l.alpha / l.localSize) * s) ** -l.beta;
      }
  return { shape: x.shape, data: out };
}

/** Per-channel map over axis 1. */
function perChannel(x: Arr, f: (v: number, c: number) => number): Arr {
  const C = x.shape[1],
    inner = size(x.shape.slice(2));
  const out = new Float64Array(x.data.length);
  for (let i = 0; i < x.data.length; i++) out[i] = f(x.data[i], Math.floor(i / inner) % C);
  return { shape: x.shape, data: out };
}

function apply(l: Layer, xs: Arr[], w: Float32Array[]): Arr[] {
  const x = xs[0];
  switch (l.kind) {
    case 'conv':
      return [conv(l, x, w)];
    case 'pool':
      return [pool(l, x)];
    case 'lrn':
      return [lrn(l, x)];
    case 'relu':
      return [{ shape: x.shape, data: x.data.map((v) => (v > 0 ? v : v * l.negativeSlope)) }];
    case 'identity':
      return l.tops.map(() => x);
    case 'flatten':
      return [{ shape: [x.shape[0], size(x.shape.slice(1))], data: x.data }];
    case 'fc': {
      const N = x.shape[0],
        I = size(x.shape.slice(1)),
        O = l.numOutput;
      const out = new Float64Array(N * O);
      for (let n = 0; n < N; n++)
        for (let o = 0; o < O; o++) {
          let acc = l.biasTerm ? w[1][o] : 0;
          for (let i = 0; i < I; i++) acc += w[0][o * I + i] * x.data[n * I + i];
          out[n * O + o] = acc;
        }
      return [{ shape: [N, O], data: out }];
    }
    case 'softmax': {
      const [N, C] = x.shape,
        inner = size(x.shape.slice(2));
      const out = new Float64Array(x.data.length);
      for (let n = 0; n < N; n++)
        for (let p = 0; p < inner; p++) {
          let m = -Infinity,
            s = 0;
          for (let c = 0; c < C; c++) m = Math.max(m, x.data[(n * C + c) * inner + p]);
          for (let c = 0; c < C; c++) s += Math.exp(x.data[(n * C + c) * inner + p] - m);
          for (let c = 0; c < C; c++) out[(n * C + c) * inner + p] = Math.exp(x.data[(n * C + c) * inner + p] - m) / s;
        }
      return [{ shape: x.shape, data: out }];
    }
    case 'concat': {
      const ax = l.axis < 0 ? l.axis + x.shape.length : l.axis;
      const outer = size(x.shape.slice(0, ax)),
        inner = size(x.shape.slice(ax + 1));
      const total = xs.reduce((a, t) => a + t.shape[ax], 0);
      const out = new Float64Array(outer * total * inner);
      let off = 0;
      for (const t of xs) {
        const k = t.shape[ax];
        for (let o = 0; o < outer; o++) for (let i = 0; i < k * inner; i++) out[(o * total + off) * inner + i] = t.data[o * k * inner + i];
        off += k;
      }
      const shape = x.shape.slice();
      shape[ax] = total;
      return [{ shape, data: out }];
    }
    case 'eltwise': {
      const out = new Float64Array(x.data.length);
      for (let i = 0; i < out.length; i++) {
        const vals = xs.map((t) => t.data[i]);
        out[i] =
          l.op === 'sum' ? vals.reduce((a, v, k) => a + v * (l.coeffs[k] ?? 1), 0) : l.op === 'prod' ? vals.reduce((a, v) => a * v, 1) : Math.max(...vals);
      }
      return [{ shape: x.shape, data: out }];
    }
    case 'scale':
      return [perChannel(x, (v, c) => v * w[0][c] + (l.biasTerm ? w[1][c] : 0))];
    case 'batchnorm': {
      const f = w[2][0] === 0 ? 0 : 1 / w[2][0];
      return [perChannel(x, (v, c) => (v - w[0][c] * f) / Math.sqrt(w[1][c] * f + l.eps))];
    }
    case 'input':
      return [];
    default:
      throw new Error(`reference: no layer kind ${(l as Layer).kind}`);
  }
}

/** Runs the whole graph on an NCHW float64 input; returns every blob's final value. */
export function referenceForward(graph: Graph, input: Arr): Map<string, Arr> {
  const env = new Map<string, Arr>([[graph.input.blob, input]]);
  for (const l of graph.layers) {
    if (l.kind === 'input') continue;
    const w = (graph.weights?.get(l.name) ?? []).map((p) => p.data);
    const outs = apply(
      l,
      l.bottoms.map((b) => env.get(b)!),
      w,
    );
    l.tops.forEach((t, i) => env.set(t, outs[i]));
  }
  return env;
}

/** NCHW → NHWC data (for tfjs), or N×C unchanged. */
export function toNhwc(a: Arr): Float32Array {
  if (a.shape.length !== 4) return Float32Array.from(a.data);
  const [N, C, H, W] = a.shape;
  const out = new Float32Array(a.data.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) out[(n * H * W + p) * C + c] = a.data[(n * C + c) * H * W + p];
  return out;
}

/** Largest |a − b| relative to the largest |a|. */
export function relErr(ref: ArrayLike<number>, got: ArrayLike<number>): number {
  let m = 0,
    d = 0;
  for (let i = 0; i < ref.length; i++) {
    m = Math.max(m, Math.abs(ref[i]));
    d = Math.max(d, Math.abs(ref[i] - got[i]));
  }
  return d / (m || 1);
}
