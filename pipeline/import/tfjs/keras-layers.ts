import type { Pair, ParamBlob } from '../../graph/types.ts';
import type { Emitter } from './emit.ts';
import type { NamedWeight } from './weights.ts';
import { pointwiseConv, samePads, tfPooling } from './layers.ts';

/**
 * Keras layers (TF.js Layers format, channels_last) → Graph layers (NCHW semantics: a Keras
 * tensor [H, W, C] is the blob C×H×W). Every Keras layer's output is a blob named after the layer.
 */

export interface KLayer {
  name: string;
  className: string;
  config: Record<string, unknown>;
}

export interface KerasCtx {
  em: Emitter;
  /** A weight of the layer by kind (kernel, bias, gamma…); undefined when weights are not loaded. */
  weight(layer: KLayer, kind: string, optional?: boolean): NamedWeight | undefined;
  fail(layer: KLayer, msg: string): never;
}

export type KConverter = (ctx: KerasCtx, L: KLayer, inputs: string[], out: string) => void;

const pairOf = (v: unknown, def: number): Pair =>
  Array.isArray(v) ? [Number(v[0]), Number(v[v.length > 1 ? 1 : 0])] : v == null ? [def, def] : [Number(v), Number(v)];
const param = (shape: number[], data: Float32Array): ParamBlob => ({ shape, data });

function channelsLast(ctx: KerasCtx, L: KLayer): void {
  const f = L.config.data_format;
  if (f && f !== 'channels_last') ctx.fail(L, `data_format "${String(f)}" is not supported (channels_last only)`);
}

/** Pads explicitly when 'same' padding is asymmetric; returns the blob to convolve and the symmetric pad left. */
function padFor(ctx: KerasCtx, L: KLayer, x: string, kernel: Pair, stride: Pair, dilation: Pair): [string, Pair] {
  const padding = String(L.config.padding ?? 'valid');
  if (padding === 'valid') return [x, [0, 0]];
  if (padding !== 'same') ctx.fail(L, `padding "${padding}" is not supported`);
  const [, h, w] = ctx.em.shape(x);
  const [b, e] = samePads([h, w], kernel, stride, dilation);
  if (b[0] === e[0] && b[1] === e[1]) return [x, b];
  const top = ctx.em.blobName(`${L.name}/pad`);
  ctx.em.emit({
    kind: 'pad',
    name: ctx.em.layerName(`${L.name}/pad`),
    bottoms: [x],
    tops: [top],
    pads: [0, b[0], b[1], 0, e[0], e[1]],
    mode: 'constant',
    value: 0,
  });
  return [top, [0, 0]];
}

/** Keras conv kernel [kh, kw, in, out] → Caffe [out, in, kh, kw]. */
function convKernel(w: NamedWeight): Float32Array {
  const [kh, kw, ci, co] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let y = 0; y < kh; y++)
    for (let x = 0; x < kw; x++)
      for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) out[((o * ci + i) * kh + y) * kw + x] = w.data[((y * kw + x) * ci + i) * co + o];
  return out;
}

function spatialRank(ctx: KerasCtx, L: KLayer, x: string): [number, number, number] {
  const s = ctx.em.shape(x);
  if (s.length !== 3) ctx.fail(L, `needs an H×W×C input, got per-image shape ${s.join('×')} (C×…)`);
  return s as [number, number, number];
}

export const conv2d: KConverter = (ctx, L, [x], out) => {
  channelsLast(ctx, L);
  const [c] = spatialRank(ctx, L, x);
  const kernel = pairOf(L.config.kernel_size, 1),
    stride = pairOf(L.config.strides, 1),
    dilation = pairOf(L.config.dilation_rate, 1);
  const groups = Number(L.config.groups ?? 1);
  const filters = Number(L.config.filters);
  const bias = L.config.use_bias !== false;
  const [blob, pad] = padFor(ctx, L, x, kernel, stride, dilation);
  const k = ctx.weight(L, 'kernel');
  const b = bias ? ctx.weight(L, 'bias') : undefined;
  const params = k ? [param([filters, c / groups, kernel[0], kernel[1]], convKernel(k)), ...(b ? [param([filters], b.data)] : [])] : undefined;
  const fn = L.config.activation as string | undefined;
  const top = ctx.em.preact(out, fn);
  ctx.em.emit(
    { kind: 'conv', name: L.name, bottoms: [blob], tops: [top], numOutput: filters, kernel, stride, pad, dilation, group: groups, biasTerm: bias },
    params,
  );
  ctx.em.activation(L.name, fn, top, out, L.className);
};

/** Depthwise [kh, kw, C, m] → grouped conv (group C) with Caffe weights [C·m, 1, kh, kw]. */
function depthwise(ctx: KerasCtx, L: KLayer, x: string, top: string, name: string, withBias: boolean): void {
  const [c] = spatialRank(ctx, L, x);
  const m = Number(L.config.depth_multiplier ?? 1);
  const kernel = pairOf(L.config.kernel_size, 1),
    stride = pairOf(L.config.strides, 1),
    dilation = pairOf(L.config.dilation_rate, 1);
  const [blob, pad] = padFor(ctx, L, x, kernel, stride, dilation);
  const k = ctx.weight(L, 'depthwise_kernel');
  const b = withBias ? ctx.weight(L, 'bias') : undefined;
  let params: ParamBlob[] | undefined;
  if (k) {
    const [kh, kw] = kernel;
    const w = new Float32Array(k.data.length);
    for (let y = 0; y < kh; y++)
      for (let xx = 0; xx < kw; xx++)
        for (let ci = 0; ci < c; ci++) for (let j = 0; j < m; j++) w[((ci * m + j) * kh + y) * kw + xx] = k.data[((y * kw + xx) * c + ci) * m + j];
    params = [param([c * m, 1, kh, kw], w), ...(b ? [param([c * m], b.data)] : [])];
  }
  ctx.em.emit(
    { kind: 'conv', name, bottoms: [blob], tops: [top], numOutput: c * m, kernel, stride, pad, dilation, group: c, biasTerm: Boolean(withBias) },
    params,
  );
}

export const depthwiseConv2d: KConverter = (ctx, L, [x], out) => {
  channelsLast(ctx, L);
  const fn = L.config.activation as string | undefined;
  const top = ctx.em.preact(out, fn);
  depthwise(ctx, L, x, top, L.name, L.config.use_bias !== false);
  ctx.em.activation(L.name, fn, top, out, L.className);
};

export const separableConv2d: KConverter = (ctx, L, [x], out) => {
  channelsLast(ctx, L);
  const mid = ctx.em.blobName(`${L.name}/depthwise`);
  depthwise(ctx, L, x, mid, ctx.em.layerName(`${L.name}/depthwise`), false);
  const filters = Number(L.config.filters);
  const bias = L.config.use_bias !== false;
  const pk = ctx.weight(L, 'pointwise_kernel');
  const b = bias ? ctx.weight(L, 'bias') : undefined;
  const cin = ctx.em.shape(mid)[0];
  const params = pk ? [param([filters, cin, 1, 1], convKernel(pk)), ...(b ? [param([filters], b.data)] : [])] : undefined;
  const fn = L.config.activation as string | undefined;
  const top = ctx.em.preact(out, fn);
  ctx.em.emit(pointwiseConv(ctx.em.layerName(`${L.name}/pointwise`), mid, top, filters, bias), params);
  ctx.em.activation(L.name, fn, top, out, L.className);
};

export const conv2dTranspose: KConverter = (ctx, L, [x], out) => {
  channelsLast(ctx, L);
  const [c, h, w] = spatialRank(ctx, L, x);
  const kernel = pairOf(L.config.kernel_size, 1),
    stride = pairOf(L.config.strides, 1),
    dilation = pairOf(L.config.dilation_rate, 1);
  if (dilation[0] !== 1 || dilation[1] !== 1) ctx.fail(L, 'dilated transposed convolution is not supported');
  const filters = Number(L.config.filters);
  const same = L.config.padding === 'same';
  const begin: number[] = [],
    end: number[] = [],
    outPad: number[] = [];
  [h, w].forEach((n, i) => {
    const target = same ? n * stride[i] : n * stride[i] + Math.max(kernel[i] - stride[i], 0);
    const total = same ? Math.max(kernel[i] - stride[i], 0) : 0;
    begin.push(Math.floor(total / 2));
    end.push(total - Math.floor(total / 2));
    outPad.push(target - ((n - 1) * stride[i] + kernel[i] - total));
  });
  const k = ctx.weight(L, 'kernel');
  const bias = L.config.use_bias !== false;
  const b = bias ? ctx.weight(L, 'bias') : undefined;
  let params: ParamBlob[] | undefined;
  if (k) {
    // Keras [kh, kw, out, in] → ONNX layout [in, out, kh, kw]
    const [kh, kw] = kernel;
    const wt = new Float32Array(k.data.length);
    for (let y = 0; y < kh; y++)
      for (let xx = 0; xx < kw; xx++)
        for (let o = 0; o < filters; o++)
          for (let i = 0; i < c; i++) wt[((i * filters + o) * kh + y) * kw + xx] = k.data[((y * kw + xx) * filters + o) * c + i];
    params = [param([c, filters, kh, kw], wt), ...(b ? [param([filters], b.data)] : [])];
  }
  const fn = L.config.activation as string | undefined;
  const top = ctx.em.preact(out, fn);
  ctx.em.emit(
    {
      kind: 'convtranspose',
      name: L.name,
      bottoms: [x],
      tops: [top],
      numOutput: filters,
      kernel,
      stride,
      dilation: [1, 1],
      padBegin: [begin[0], begin[1]],
      padEnd: [end[0], end[1]],
      outputPadding: [outPad[0], outPad[1]],
      group: 1,
      biasTerm: bias,
    },
    params,
  );
  ctx.em.activation(L.name, fn, top, out, L.className);
};

/** Dense: fc on [C] inputs; on H×W×C it acts on the channels of every position: a 1×1 convolution. */
export const dense: KConverter = (ctx, L, [x], out) => {
  const s = ctx.em.shape(x);
  const units = Number(L.config.units);
  const bias = L.config.use_bias !== false;
  const k = ctx.weight(L, 'kernel');
  const b = bias ? ctx.weight(L, 'bias') : undefined;
  const fn = L.config.activation as string | undefined;
  const top = ctx.em.preact(out, fn);
  const cin = s[0];
  let wT: Float32Array | undefined;
  if (k) {
    wT = new Float32Array(k.data.length);
    for (let i = 0; i < cin; i++) for (let o = 0; o < units; o++) wT[o * cin + i] = k.data[i * units + o];
  }
  if (s.length === 1) {
    const params = wT ? [param([units, cin], wT), ...(b ? [param([units], b.data)] : [])] : undefined;
    ctx.em.emit({ kind: 'fc', name: L.name, bottoms: [x], tops: [top], numOutput: units, biasTerm: bias }, params);
  } else if (s.length === 3) {
    const params = wT ? [param([units, cin, 1, 1], wT), ...(b ? [param([units], b.data)] : [])] : undefined;
    ctx.em.emit(pointwiseConv(L.name, x, top, units, bias), params);
  } else ctx.fail(L, `Dense on a per-image ${s.join('×')} tensor is not supported`);
  ctx.em.activation(L.name, fn, top, out, L.className);
};

export const pooling =
  (method: 'max' | 'ave'): KConverter =>
  (ctx, L, [x], out) => {
    channelsLast(ctx, L);
    const [, h, w] = spatialRank(ctx, L, x);
    const kernel = pairOf(L.config.pool_size, 2);
    const stride = L.config.strides == null ? kernel : pairOf(L.config.strides, 1);
    ctx.em.emit(tfPooling(L.name, x, out, method, [h, w], kernel, stride, L.config.padding === 'same'));
  };

export const globalPooling =
  (op: 'mean' | 'max'): KConverter =>
  (ctx, L, [x], out) => {
    channelsLast(ctx, L);
    spatialRank(ctx, L, x);
    ctx.em.emit({ kind: 'reduce', name: L.name, bottoms: [x], tops: [out], op, axes: [1, 2], keepDims: Boolean(L.config.keepdims) });
  };

export const batchNorm: KConverter = (ctx, L, [x], out) => {
  const s = ctx.em.shape(x);
  const axis = Number(L.config.axis ?? -1);
  if (axis !== -1 && axis !== s.length) ctx.fail(L, `normalisation over axis ${axis} is not supported (the channel axis -1 only)`);
  const C = s[0];
  const eps = Number(L.config.epsilon ?? 1e-3);
  const mean = ctx.weight(L, 'moving_mean');
  const variance = ctx.weight(L, 'moving_variance');
  const gamma = L.config.scale !== false ? ctx.weight(L, 'gamma') : undefined;
  const beta = L.config.center !== false ? ctx.weight(L, 'beta') : undefined;
  let params: ParamBlob[] | undefined;
  if (mean && variance) {
    const a = new Float32Array(C),
      b = new Float32Array(C);
    for (let c = 0; c < C; c++) {
      a[c] = (gamma ? gamma.data[c] : 1) / Math.sqrt(variance.data[c] + eps);
      b[c] = (beta ? beta.data[c] : 0) - mean.data[c] * a[c];
    }
    params = [param([C], a), param([C], b)];
  }
  ctx.em.emit({ kind: 'scale', name: L.name, bottoms: [x], tops: [out], biasTerm: true }, params);
};

/**
 * Keras LayerNormalization: over the configured axes of the channels-last tensor (default the
 * channels, -1), learned gamma/beta per normalised position. A Keras axis of [.., C] maps to the
 * blob's: channels → 0, the others one further.
 */
export const layerNorm: KConverter = (ctx, L, [x], out) => {
  const s = ctx.em.shape(x);
  const r = s.length;
  const given = Array.isArray(L.config.axis) ? (L.config.axis as number[]) : [Number(L.config.axis ?? -1)];
  const axes = given.map((a) => {
    const k = a < 0 ? a + r + 1 : a; // Keras axis, batch = 0
    if (k < 1 || k > r) ctx.fail(L, `axis ${a} is out of range (or the batch axis)`);
    return k === r ? 0 : k; // channels last → blob axis 0; Keras axis k (1…r−1) → blob axis k
  });
  const shape = s.map((d, i) => (axes.includes(i) ? d : 1));
  const n = shape.reduce((p, d) => p * d, 1);
  // Keras stores gamma/beta over the normalised axes in its own (channels-last) order.
  const reorder = (w: Float32Array) => {
    if (axes.length === 1) return w;
    const kerasOrder = [...axes].sort((p, q) => (p === 0 ? r : p) - (q === 0 ? r : q));
    const dims = kerasOrder.map((a) => s[a]);
    const outIdx = [...axes].sort((p, q) => p - q);
    const res = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      let rest = i;
      const at = new Map<number, number>();
      for (let k = kerasOrder.length - 1; k >= 0; k--) {
        at.set(kerasOrder[k], rest % dims[k]);
        rest = Math.floor(rest / dims[k]);
      }
      let j = 0;
      for (const a of outIdx) j = j * s[a] + at.get(a)!;
      res[j] = w[i];
    }
    return res;
  };
  const gamma = L.config.scale !== false ? ctx.weight(L, 'gamma') : undefined;
  const beta = L.config.center !== false ? ctx.weight(L, 'beta') : undefined;
  const params: ParamBlob[] = [param(shape, gamma ? reorder(gamma.data) : new Float32Array(n).fill(1))];
  if (beta) params.push(param(shape, reorder(beta.data)));
  ctx.em.emit({ kind: 'layernorm', name: L.name, bottoms: [x], tops: [out], axes, eps: Number(L.config.epsilon ?? 1e-3), biasTerm: Boolean(beta) }, params);
};

export const activationLayer: KConverter = (ctx, L, [x], out) => {
  ctx.em.activation(L.name, L.config.activation as string, x, out, L.className);
};

export const reluLayer: KConverter = (ctx, L, [x], out) => {
  const max = L.config.max_value == null ? Infinity : Number(L.config.max_value);
  const slope = Number(L.config.negative_slope ?? 0);
  if (Number(L.config.threshold ?? 0) !== 0) ctx.fail(L, 'a non-zero threshold is not supported');
  if (max === Infinity) ctx.em.emit({ kind: 'relu', name: L.name, bottoms: [x], tops: [out], negativeSlope: slope });
  else if (slope === 0) ctx.em.emit({ kind: 'clip', name: L.name, bottoms: [x], tops: [out], min: 0, max });
  else ctx.fail(L, 'max_value together with negative_slope is not supported');
};

export const leakyRelu: KConverter = (ctx, L, [x], out) => {
  ctx.em.emit({ kind: 'relu', name: L.name, bottoms: [x], tops: [out], negativeSlope: Number(L.config.alpha ?? 0.3) });
};

export const eluLayer: KConverter = (ctx, L, [x], out) => {
  ctx.em.emit({ kind: 'activation', name: L.name, bottoms: [x], tops: [out], fn: 'elu', alpha: Number(L.config.alpha ?? 1), beta: 0, gamma: 1 });
};

export const softmaxLayer: KConverter = (ctx, L, [x], out) => {
  const axis = L.config.axis == null ? -1 : Number(Array.isArray(L.config.axis) ? L.config.axis[0] : L.config.axis);
  const r = ctx.em.shape(x).length;
  if (axis !== -1 && axis !== r) ctx.fail(L, `softmax over axis ${axis} is not supported (the channel axis only)`);
  ctx.em.emit({ kind: 'softmax', name: L.name, bottoms: [x], tops: [out] });
};

export const identityLayer: KConverter = (ctx, L, [x], out) => {
  ctx.em.emit({ kind: 'identity', name: L.name, bottoms: [x], tops: [out] });
};

/** Keras axis (1-based over H, W, C; negative from the end) → NCHW per-image axis. */
export function kerasAxis(axis: number, rank: number): number {
  const k = axis < 0 ? axis + rank + 1 : axis;
  return k === rank ? 0 : k;
}

export const concatenate: KConverter = (ctx, L, xs, out) => {
  const r = ctx.em.shape(xs[0]).length;
  const axis = kerasAxis(Number(L.config.axis ?? -1), r);
  if (axis === 0 && (r === 1 || r === 3)) ctx.em.emit({ kind: 'concat', name: L.name, bottoms: xs, tops: [out], axis: 1 });
  else ctx.em.emit({ kind: 'concatnd', name: L.name, bottoms: xs, tops: [out], axis });
};

export const merge =
  (op: 'sum' | 'prod' | 'max' | 'sub' | 'avg' | 'min'): KConverter =>
  (ctx, L, xs, out) => {
    if (op === 'min') {
      if (xs.length !== 2) ctx.fail(L, 'Minimum of more than two inputs is not supported');
      ctx.em.emit({ kind: 'binary', name: L.name, bottoms: xs, tops: [out], op: 'min', constant: 'none' });
      return;
    }
    const coeffs = op === 'sub' ? [1, -1] : op === 'avg' ? xs.map(() => 1 / xs.length) : [];
    ctx.em.emit({ kind: 'eltwise', name: L.name, bottoms: xs, tops: [out], op: op === 'prod' ? 'prod' : op === 'max' ? 'max' : 'sum', coeffs });
  };

/** Keras order of a per-image NCHW shape of rank r: [1, …, r−1, 0]; and back. */
const toKeras = (r: number) => (r <= 1 ? undefined : [...Array.from({ length: r - 1 }, (_, i) => i + 1), 0]);
const toCaffe = (r: number) => (r <= 1 ? undefined : [r - 1, ...Array.from({ length: r - 1 }, (_, i) => i)]);

function reshapeKeras(ctx: KerasCtx, L: KLayer, x: string, out: string, kerasTarget: number[], perm?: number[]): void {
  const s = ctx.em.shape(x);
  const pre0 = toKeras(s.length) ?? [0];
  const pre = perm ? perm.map((p) => pre0[p]) : pre0;
  const post = toCaffe(kerasTarget.length);
  const identityPre = pre.every((p, i) => p === i);
  ctx.em.emit({ kind: 'reshape', name: L.name, bottoms: [x], tops: [out], ...(identityPre ? {} : { pre }), shape: kerasTarget, ...(post ? { post } : {}) });
}

export const flattenLayer: KConverter = (ctx, L, [x], out) => {
  const n = ctx.em.shape(x).reduce((a, d) => a * d, 1);
  reshapeKeras(ctx, L, x, out, [n]);
};

export const reshapeLayer: KConverter = (ctx, L, [x], out) => {
  const target = (L.config.target_shape as number[]).map(Number);
  const n = ctx.em.shape(x).reduce((a, d) => a * d, 1);
  const free = target.indexOf(-1);
  if (free >= 0) target[free] = n / target.filter((d) => d !== -1).reduce((a, d) => a * d, 1);
  reshapeKeras(ctx, L, x, out, target);
};

export const permuteLayer: KConverter = (ctx, L, [x], out) => {
  const dims = (L.config.dims as number[]).map((d) => Number(d) - 1);
  const s = ctx.em.shape(x);
  const keras = (toKeras(s.length) ?? [0]).map((p) => s[p]);
  reshapeKeras(
    ctx,
    L,
    x,
    out,
    dims.map((d) => keras[d]),
    dims,
  );
};

function twoPairs(v: unknown): [Pair, Pair] {
  if (typeof v === 'number')
    return [
      [v, v],
      [v, v],
    ];
  const a = v as unknown[];
  if (typeof a[0] === 'number')
    return [
      [Number(a[0]), Number(a[0])],
      [Number(a[1]), Number(a[1])],
    ];
  const [[t, b], [l, r]] = a as number[][];
  return [
    [t, b],
    [l, r],
  ];
}

export const zeroPadding =
  (sign: 1 | -1): KConverter =>
  (ctx, L, [x], out) => {
    channelsLast(ctx, L);
    spatialRank(ctx, L, x);
    const [[t, b], [l, r]] = twoPairs(sign === 1 ? (L.config.padding ?? 1) : (L.config.cropping ?? 0));
    ctx.em.emit({ kind: 'pad', name: L.name, bottoms: [x], tops: [out], pads: [0, sign * t, sign * l, 0, sign * b, sign * r], mode: 'constant', value: 0 });
  };

export const rescaling: KConverter = (ctx, L, [x], out) => {
  const C = ctx.em.shape(x)[0];
  const scale = Number(L.config.scale ?? 1),
    offset = Number(L.config.offset ?? 0);
  ctx.em.emit({ kind: 'scale', name: L.name, bottoms: [x], tops: [out], biasTerm: true }, [
    param([C], new Float32Array(C).fill(scale)),
    param([C], new Float32Array(C).fill(offset)),
  ]);
};

export const preluLayer: KConverter = (ctx, L, [x], out) => {
  const s = ctx.em.shape(x);
  const a = ctx.weight(L, 'alpha');
  // alpha has the Keras shape of the input (shared axes of size 1): put it in NCHW order.
  const kShape = (toKeras(s.length) ?? [0]).map((p) => s[p]).map((d, i) => a?.shape[i] ?? d);
  const perm = toCaffe(s.length) ?? [0];
  const constShape = perm.map((p) => kShape[p]);
  let data: Float32Array | undefined;
  if (a) {
    data = new Float32Array(a.data.length);
    const ks = kShape,
      cs = constShape;
    const kStr = ks.map((_, i) => ks.slice(i + 1).reduce((p, d) => p * d, 1));
    const cStr = cs.map((_, i) => cs.slice(i + 1).reduce((p, d) => p * d, 1));
    for (let i = 0; i < data.length; i++) {
      let src = 0;
      for (let d = 0; d < cs.length; d++) src += (Math.floor(i / cStr[d]) % cs[d]) * kStr[perm[d]];
      data[i] = a.data[src];
    }
  }
  ctx.em.emit(
    { kind: 'binary', name: L.name, bottoms: [x], tops: [out], op: 'prelu', constant: 'second', constShape },
    data ? [param([1, ...constShape], data)] : undefined,
  );
};
