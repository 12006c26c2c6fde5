/**
 * The layer kinds of ONNX and TensorFlow.js models (graph/tensor-layers.ts) in the ONNX Runtime
 * export: each as ONNX ops on its NCHW-order value [N, …per-image shape], with its backward built
 * by hand from ONNX ops (numpy broadcasting summed back to each operand's shape, LayerNorm's and
 * softmax's Jacobians, resize and edge/reflect padding as matrices along their axes, max pooling
 * through MaxPool's Indices and a scatter-add). The gradients follow the TensorFlow.js executor's
 * (engine/net/tensor-ops.ts): its formulas, and its deconv/guided rules at rectifying activations;
 * every other layer passes its ordinary gradient in every mode.
 */
import { UserError } from '../../core/errors.ts';
import { pooledSize } from '../../graph/tensor-shapes.ts';
import type { ActivationLayer, BinaryLayer, LayerNormLayer, InstanceNormLayer, PadLayer, PoolingLayer, TensorLayer } from '../../graph/tensor-layers.ts';
import type { ParamBlob } from '../../graph/types.ts';
import type { Attr } from '../../io/onnx-writer.ts';
import { BOOL, INT32 } from '../../io/onnx-writer.ts';
import { interpolationMatrix } from '../net/resize.ts';
import { RECTIFIERS } from '../net/tensor-ops.ts';
import type { GradMode } from '../net/types.ts';

/** Backward of one layer: gradients of its outputs (undefined: none flows) → of its inputs. */
export type Backward = (gOut: (string | undefined)[]) => (string | undefined)[];

/** What the exporter lends a layer: node and constant makers on the graph being built. */
export interface GraphOps {
  node(op: string, inputs: string[], attrs?: Record<string, Attr>, outputs?: number): string[];
  one(op: string, inputs: string[], attrs?: Record<string, Attr>): string;
  constF(dims: number[], data: ArrayLike<number>): string;
  constI(data: number[]): string;
  scalar(v: number): string;
  /** Marks a forward value as not float (saved masks and switches keep their type). */
  typed(name: string, type: number): void;
  /** The gradient mode of the graph (undefined: forward only). */
  grad: GradMode | undefined;
  refuse(what: string): never;
}

export interface TensorLayerIO {
  /** ONNX values of the bottoms, each [N, …per-image shape]. */
  ins: string[];
  inShapes: number[][];
  outShapes: number[][];
  params: ParamBlob[] | undefined;
  /** The network input (a constant layer takes its batch size from it). */
  input: string;
}

const range = (n: number, from = 0) => Array.from({ length: n }, (_, i) => i + from);
const norm = (a: number, rank: number) => (a < 0 ? a + rank : a);
const inverse = (perm: number[]) => perm.map((_, i) => perm.indexOf(i));
/** Per-image axes (negative from the end) → ONNX axes of [N, …], sorted, once each. */
const onnxAxes = (axes: number[], rank: number) => [...new Set(axes.map((a) => norm(a, rank) + 1))].sort((p, q) => p - q);

/** Exports one tensor-kind layer: its output values and its backward. */
export function tensorLayer(o: GraphOps, l: TensorLayer, io: TensorLayerIO): { outs: string[]; back: Backward } {
  const { ins, inShapes, outShapes, params } = io;
  const x = ins[0];
  const rank = inShapes[0]?.length ?? 0;
  const { one, scalar, constI, constF } = o;
  /** Sums a gradient of per-image shape `from` over the axes `to` broadcast (1 there, not in `from`). */
  const sumTo = (g: string, from: number[], to: number[]): string => {
    if (from.length !== to.length) o.refuse(`broadcasting between ranks ${from.length} and ${to.length}`);
    const axes = to.flatMap((d, i) => (d === 1 && from[i] !== 1 ? [i + 1] : []));
    return axes.length ? one('ReduceSum', [g, constI(axes)], { keepdims: 1 }) : g;
  };
  const param = (i: number): ParamBlob => {
    const p = params?.[i];
    if (!p) throw new UserError(`layer ${l.name}: missing parameter ${i}`);
    return p;
  };
  const pass: Backward = ([g]) => [g];

  switch (l.kind) {
    case 'activation':
      return activation(o, l, x);
    case 'clip': {
      const y = one('Clip', [x, scalar(l.min), scalar(l.max)]);
      // tfjs: minimum(maximum(x, min), max), each passing the gradient where its tie goes to x.
      const inside = o.grad ? within(o, x, l.min, l.max) : '';
      if (o.grad) o.typed(inside, BOOL);
      return { outs: [y], back: ([g]) => [g && one('Where', [inside, g, scalar(0)])] };
    }
    case 'binary':
      return binary(o, l, io, sumTo);
    case 'matmul': {
      const ws = l.weightShape;
      const [K, M] = ws.slice(-2);
      const w = param(0).data;
      const flat = ws.slice(0, -2).every((d) => d === 1);
      const W = flat ? constF([K, M], w) : constF([1, ...ws], w);
      const wT = new Float32Array(w.length);
      const batches = w.length / (K * M);
      for (let b = 0; b < batches; b++) for (let k = 0; k < K; k++) for (let m = 0; m < M; m++) wT[b * K * M + m * K + k] = w[b * K * M + k * M + m];
      let y = one('MatMul', [x, W]);
      if (l.biasTerm) {
        const b = param(1);
        if (b.data.length !== M) throw new UserError(`layer ${l.name}: bias must have ${M} values`);
        y = one('Add', [y, constF([M], b.data)]);
      }
      const out = outShapes[0];
      return {
        outs: [y],
        back: ([g]) => {
          if (!g) return [undefined];
          const gx = one('MatMul', [g, flat ? constF([M, K], wT) : constF([1, ...ws.slice(0, -2), M, K], wT)]);
          return [sumTo(gx, [...out.slice(0, -1), K], inShapes[0])];
        },
      };
    }
    case 'batchmatmul': {
      const [a, b] = ins;
      const [sa, sb] = inShapes;
      const out = outShapes[0];
      const r = sa.length;
      const swapPerm = [0, ...range(r - 2, 1), r, r - 1];
      return {
        outs: [one('MatMul', [a, b])],
        back: ([g]) => {
          if (!g) return [undefined, undefined];
          const ga = one('MatMul', [g, one('Transpose', [b], { perm: swapPerm })]);
          const gb = one('MatMul', [one('Transpose', [a], { perm: swapPerm }), g]);
          return [sumTo(ga, [...out.slice(0, -2), sa[r - 2], sa[r - 1]], sa), sumTo(gb, [...out.slice(0, -2), sb[r - 2], sb[r - 1]], sb)];
        },
      };
    }
    case 'reshape': {
      let y = x;
      let s = inShapes[0];
      if (l.pre) {
        y = one('Transpose', [y], { perm: [0, ...l.pre.map((p) => p + 1)] });
        s = l.pre.map((p) => s[p]);
      }
      const preShape = s;
      y = one('Reshape', [y, constI([0, ...l.shape])]);
      if (l.post) y = one('Transpose', [y], { perm: [0, ...l.post.map((p) => p + 1)] });
      return {
        outs: [y],
        back: ([g]) => {
          if (!g) return [undefined];
          let t = g;
          if (l.post) t = one('Transpose', [t], { perm: [0, ...inverse(l.post).map((p) => p + 1)] });
          t = one('Reshape', [t, constI([0, ...preShape])]);
          if (l.pre) t = one('Transpose', [t], { perm: [0, ...inverse(l.pre).map((p) => p + 1)] });
          return [t];
        },
      };
    }
    case 'softmaxnd': {
      const axes = onnxAxes(l.axes, rank);
      let y: string;
      let A: string | undefined;
      if (axes.length === 1) y = one(l.log ? 'LogSoftmax' : 'Softmax', [x], { axis: axes[0] });
      else {
        A = constI(axes);
        // x − logΣexp(x) over the axes, as the executor computes it.
        const m = one('ReduceMax', [x, A], { keepdims: 1 });
        const shifted = one('Sub', [x, m]);
        const lse = one('Log', [one('ReduceSum', [one('Exp', [shifted]), A], { keepdims: 1 })]);
        const ls = one('Sub', [shifted, lse]);
        y = l.log ? ls : one('Exp', [ls]);
      }
      return {
        outs: [y],
        back: ([g]) => {
          if (!g) return [undefined];
          A ??= constI(axes);
          if (l.log) return [one('Sub', [g, one('Mul', [one('Exp', [y]), one('ReduceSum', [g, A], { keepdims: 1 })])])];
          return [one('Mul', [y, one('Sub', [g, one('ReduceSum', [one('Mul', [g, y]), A], { keepdims: 1 })])])];
        },
      };
    }
    case 'concatnd': {
      if (ins.length === 1) return { outs: [x], back: pass };
      const axis = norm(l.axis, rank) + 1;
      const sizes = inShapes.map((s) => s[axis - 1]);
      return {
        outs: [one('Concat', ins, { axis })],
        back: ([g]) => (g ? o.node('Split', [g, constI(sizes)], { axis }, sizes.length) : sizes.map(() => undefined)),
      };
    }
    case 'const': {
      const p = param(0);
      const c = constF([1, ...l.shape], p.data);
      const batch = one('Slice', [one('Shape', [io.input]), constI([0]), constI([1])]);
      // No input reaches it: no gradient flows back.
      return { outs: [one('Expand', [c, one('Concat', [batch, constI(l.shape)], { axis: 0 })])], back: () => ins.map(() => undefined) };
    }
    case 'reduce': {
      const axes = onnxAxes(l.axes, rank);
      const A = constI(axes);
      const keep = l.keepDims ? 1 : 0;
      const count = axes.reduce((n, a) => n * inShapes[0][a - 1], 1);
      const REDUCE = { mean: 'ReduceMean', max: 'ReduceMax', min: 'ReduceMin', sum: 'ReduceSum' } as const;
      const y = l.op === 'l2' ? one('Sqrt', [one('ReduceSum', [one('Mul', [x, x]), A], { keepdims: keep })]) : one(REDUCE[l.op], [x, A], { keepdims: keep });
      return {
        outs: [y],
        back: ([g]) => {
          if (!g) return [undefined];
          const full = constI([1, ...inShapes[0]]);
          const kept = (t: string) => (keep ? t : one('Unsqueeze', [t, A]));
          const spread = (t: string) => one('Expand', [kept(t), full]);
          switch (l.op) {
            case 'sum':
              return [spread(g)];
            case 'mean':
              return [spread(one('Mul', [g, scalar(1 / count)]))];
            case 'max':
            case 'min':
              // tfjs: every position equal to the extreme gets the gradient.
              return [one('Where', [one('Equal', [x, kept(y)]), spread(g), scalar(0)])];
            case 'l2':
              return [one('Mul', [spread(one('Div', [g, y])), x])];
          }
        },
      };
    }
    case 'instancenorm':
      return normalise(o, l, x, range(rank - 1, 2), [1, inShapes[0][0], ...range(rank - 1).map(() => 1)], params);
    case 'layernorm':
      return normalise(o, l, x, onnxAxes(l.axes, rank), undefined, params);
    case 'resize': {
      let y = x;
      const mats = l.axes.map((a, i) => {
        const n = inShapes[0][norm(a, rank)];
        const m = interpolationMatrix(l, i, n);
        return { axis: norm(a, rank) + 1, n, out: l.sizes[i], m };
      });
      for (const { axis, n, out, m } of mats) y = alongAxis(o, y, axis, rank + 1, constF([n, out], m));
      return {
        outs: [y],
        back: ([g]) => {
          if (!g) return [undefined];
          let t = g;
          for (const { axis, n, out, m } of [...mats].reverse()) t = alongAxis(o, t, axis, rank + 1, constF([out, n], transpose2d(m, n, out)));
          return [t];
        },
      };
    }
    case 'tokengrid': {
      const [gh, gw] = l.grid;
      const tokens = gh * gw;
      const [d0, d1] = inShapes[0];
      const T = l.axis === 1 ? d1 : d0;
      const C = l.axis === 1 ? d0 : d1;
      const ct = l.axis === 1 ? x : one('Transpose', [x], { perm: [0, 2, 1] }); // [N, C, T]
      const y = one('Reshape', [one('Slice', [ct, constI([l.first]), constI([l.first + tokens]), constI([2])]), constI([0, C, gh, gw])]);
      return {
        outs: [y],
        back: ([g]) => {
          if (!g) return [undefined];
          const flat = one('Reshape', [g, constI([0, C, tokens])]);
          const padded = one('Pad', [flat, constI([0, 0, l.first, 0, 0, T - l.first - tokens])]);
          return [l.axis === 1 ? padded : one('Transpose', [padded], { perm: [0, 2, 1] })];
        },
      };
    }
    case 'pad':
      return pad(o, l, x, inShapes[0]);
    case 'pooling':
      return pooling(o, l, x, inShapes[0]);
    case 'convtranspose': {
      const w = param(0);
      const attrs = {
        kernel_shape: l.kernel,
        strides: l.stride,
        dilations: l.dilation,
        pads: [...l.padBegin, ...l.padEnd],
        group: l.group,
      };
      const W = constF(w.shape, w.data);
      const inputs = [x, W];
      if (l.biasTerm) inputs.push(constF([l.numOutput], param(1).data));
      return {
        outs: [one('ConvTranspose', inputs, { ...attrs, output_padding: l.outputPadding })],
        // The adjoint of a transposed convolution is the convolution with the same filters.
        back: ([g]) => [g && one('Conv', [g, W], attrs)],
      };
    }
  }
}

function transpose2d(m: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(m.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
  return t;
}

/** lo ≤ t ≤ hi, where tfjs's clipByValue (and minimum(maximum(t, lo), hi)) pass a gradient. */
function within(o: GraphOps, t: string, lo: number, hi: number): string {
  return o.one('And', [o.one('Not', [o.one('Less', [t, o.scalar(lo)])]), o.one('Not', [o.one('Greater', [t, o.scalar(hi)])])]);
}

/** Right-multiplies axis `axis` of a rank-`r` value by matrix `m` [in, out] (the axis moved last and back). */
function alongAxis(o: GraphOps, t: string, axis: number, r: number, m: string): string {
  if (axis === r - 1) return o.one('MatMul', [t, m]);
  const perm = [...range(r).filter((k) => k !== axis), axis];
  return o.one('Transpose', [o.one('MatMul', [o.one('Transpose', [t], { perm }), m])], { perm: inverse(perm) });
}

/** Elementwise functions: ONNX ops forward, the derivative of the executor's formula backward. */
function activation(o: GraphOps, l: ActivationLayer, x: string): { outs: string[]; back: Backward } {
  const { one, scalar } = o;
  const mul = (...ts: string[]) => ts.reduce((a, b) => one('Mul', [a, b]));
  const add = (a: string, b: string) => one('Add', [a, b]);
  let y: string;
  /** dy/dx from x and y. */
  let dydx: () => string | undefined;
  const half = (t: string) => mul(t, scalar(0.5));
  switch (l.fn) {
    case 'sigmoid':
      y = one('Sigmoid', [x]);
      dydx = () => mul(y, one('Sub', [scalar(1), y]));
      break;
    case 'tanh':
      y = one('Tanh', [x]);
      dydx = () => one('Sub', [scalar(1), mul(y, y)]);
      break;
    case 'elu':
    case 'selu': {
      const gamma = l.fn === 'selu' ? l.gamma : 1;
      y = l.fn === 'elu' ? one('Elu', [x], { alpha: { f: l.alpha } }) : one('Selu', [x], { alpha: { f: l.alpha }, gamma: { f: l.gamma } });
      dydx = () => one('Where', [one('Greater', [x, scalar(0)]), scalar(gamma), mul(one('Exp', [x]), scalar(gamma * l.alpha))]);
      break;
    }
    case 'softplus':
      y = one('Softplus', [x]);
      dydx = () => one('Sigmoid', [x]);
      break;
    case 'softsign': {
      y = one('Softsign', [x]);
      dydx = () => {
        const d = add(one('Abs', [x]), scalar(1));
        return one('Reciprocal', [mul(d, d)]);
      };
      break;
    }
    case 'hardsigmoid': {
      y = one('HardSigmoid', [x], { alpha: { f: l.alpha }, beta: { f: l.beta } });
      dydx = () => {
        const u = add(mul(x, scalar(l.alpha)), scalar(l.beta));
        return one('Where', [within(o, u, 0, 1), scalar(l.alpha), scalar(0)]);
      };
      break;
    }
    case 'exp':
      y = one('Exp', [x]);
      dydx = () => y;
      break;
    case 'log':
      y = one('Log', [x]);
      dydx = () => one('Reciprocal', [x]);
      break;
    case 'abs':
      y = one('Abs', [x]);
      dydx = () => one('Sign', [x]);
      break;
    case 'neg':
      y = one('Neg', [x]);
      dydx = () => scalar(-1);
      break;
    case 'sqrt':
      y = one('Sqrt', [x]);
      dydx = () => one('Reciprocal', [mul(y, scalar(2))]);
      break;
    case 'reciprocal':
      y = one('Reciprocal', [x]);
      dydx = () => one('Neg', [mul(y, y)]);
      break;
    case 'floor':
    case 'ceil':
      y = one(l.fn === 'floor' ? 'Floor' : 'Ceil', [x]);
      dydx = () => undefined;
      break;
    case 'erf':
      y = one('Erf', [x]);
      dydx = () => mul(one('Exp', [one('Neg', [mul(x, x)])]), scalar(2 / Math.sqrt(Math.PI)));
      break;
    case 'gelu': {
      // x·Φ(x) = ½x(1 + erf(x/√2)); d/dx = Φ(x) + x·φ(x).
      const cdf = half(add(one('Erf', [mul(x, scalar(Math.SQRT1_2))]), scalar(1)));
      y = mul(x, cdf);
      dydx = () => add(cdf, mul(x, one('Exp', [mul(x, x, scalar(-0.5))]), scalar(1 / Math.sqrt(2 * Math.PI))));
      break;
    }
    case 'gelutanh': {
      const k = Math.sqrt(2 / Math.PI);
      const x3 = mul(x, x, x);
      const t = one('Tanh', [mul(add(x, mul(x3, scalar(0.044715))), scalar(k))]);
      const onePlus = add(t, scalar(1));
      y = mul(half(x), onePlus);
      dydx = () => {
        const sech2 = one('Sub', [scalar(1), mul(t, t)]);
        const du = mul(add(mul(x, x, scalar(3 * 0.044715)), scalar(1)), scalar(k));
        return add(half(onePlus), mul(half(x), sech2, du));
      };
      break;
    }
    case 'hardswish': {
      const u = add(mul(x, scalar(1 / 6)), scalar(0.5));
      const c = one('Clip', [u, scalar(0), scalar(1)]);
      y = mul(x, c);
      dydx = () => {
        return add(c, one('Where', [within(o, u, 0, 1), mul(x, scalar(1 / 6)), scalar(0)]));
      };
      break;
    }
    case 'swish': {
      const s = one('Sigmoid', [l.alpha === 1 ? x : mul(x, scalar(l.alpha))]);
      y = mul(x, s);
      dydx = () => add(s, mul(x, s, one('Sub', [scalar(1), s]), scalar(l.alpha)));
      break;
    }
  }
  const rule = RECTIFIERS.has(l.fn) && o.grad && o.grad !== 'backprop' ? o.grad : undefined;
  // Backprop: the derivative, computed in the forward graph (its inputs are forward values) and saved.
  const d = o.grad && !rule ? dydx() : undefined;
  const positive = rule === 'guided' ? one('Greater', [x, scalar(0)]) : undefined;
  if (positive) o.typed(positive, BOOL);
  return {
    outs: [y],
    back: ([g]) => {
      if (!g) return [undefined];
      if (rule === 'deconv') return [one('Relu', [g])];
      if (rule === 'guided') return [one('Where', [positive!, one('Relu', [g]), scalar(0)])];
      return [d && one('Mul', [g, d])];
    },
  };
}

function binary(
  o: GraphOps,
  l: BinaryLayer,
  io: TensorLayerIO,
  sumTo: (g: string, from: number[], to: number[]) => string,
): { outs: string[]; back: Backward } {
  const { one, scalar } = o;
  const out = io.outShapes[0];
  let a: string, b: string, sa: number[], sb: number[];
  if (l.constant === 'none') {
    [a, b] = io.ins;
    [sa, sb] = io.inShapes;
  } else {
    const p = io.params?.[0];
    if (!p || !l.constShape) throw new UserError(`layer ${l.name}: missing constant`);
    const c = o.constF([1, ...l.constShape], p.data);
    [a, b] = l.constant === 'second' ? [io.ins[0], c] : [c, io.ins[0]];
    [sa, sb] = l.constant === 'second' ? [io.inShapes[0], l.constShape] : [l.constShape, io.inShapes[0]];
  }
  const ONNX: Record<Exclude<BinaryLayer['op'], 'prelu'>, string> = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', pow: 'Pow', max: 'Max', min: 'Min' };
  let y: string;
  if (l.op === 'prelu') y = one('Add', [one('Relu', [a]), one('Mul', [one('Min', [a, scalar(0)]), b])]);
  else y = one(ONNX[l.op], [a, b]);
  const mask = (t: string) => {
    o.typed(t, BOOL);
    return t;
  };
  // tfjs's maximum / minimum send a tie to the first operand.
  const firstWins = o.grad && (l.op === 'max' || l.op === 'min') ? mask(one(l.op === 'max' ? 'GreaterOrEqual' : 'LessOrEqual', [a, b])) : undefined;
  const aPositive = o.grad && l.op === 'prelu' ? mask(one('Greater', [a, scalar(0)])) : undefined;
  /** Gradients w.r.t. each operand, at the output's shape. */
  const grads = (g: string): [string | undefined, string | undefined] => {
    switch (l.op) {
      case 'add':
        return [g, g];
      case 'sub':
        return [g, one('Neg', [g])];
      case 'mul':
        return [one('Mul', [g, b]), one('Mul', [g, a])];
      case 'div':
        return [one('Div', [g, b]), one('Neg', [one('Div', [one('Mul', [g, y]), b])])];
      case 'pow': {
        const ga = one('Mul', [one('Mul', [g, b]), one('Pow', [a, one('Sub', [b, scalar(1)])])]);
        // tfjs: log(a) where a > 0, else 0.
        const logA = one('Where', [one('Greater', [a, scalar(0)]), one('Log', [one('Max', [a, scalar(1e-38)])]), scalar(0)]);
        return [ga, one('Mul', [one('Mul', [g, y]), logA])];
      }
      case 'max':
      case 'min':
        return [one('Where', [firstWins!, g, scalar(0)]), one('Where', [firstWins!, scalar(0), g])];
      case 'prelu':
        return [one('Where', [aPositive!, g, one('Mul', [g, b])]), one('Mul', [g, one('Min', [a, scalar(0)])])];
    }
  };
  return {
    outs: [y],
    back: ([g]) => {
      if (!g) return io.ins.map(() => undefined);
      const [ga, gb] = grads(g);
      const ra = ga && sumTo(ga, out, sa);
      const rb = gb && sumTo(gb, out, sb);
      if (l.constant === 'none') return [ra, rb];
      return [l.constant === 'second' ? ra : rb];
    },
  };
}

/**
 * (x − mean)/√(var + ε)·scale (+ bias) over `axes` (ONNX axes, batch = 0), spelled out so that
 * x̂ and 1/σ serve the backward: dx = (1/σ)·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)), ĝ = g·scale.
 */
function normalise(
  o: GraphOps,
  l: LayerNormLayer | InstanceNormLayer,
  x: string,
  axes: number[],
  channelDims: number[] | undefined,
  params: ParamBlob[] | undefined,
): { outs: string[]; back: Backward } {
  const { one, scalar, constF, constI } = o;
  const scaleP = params?.[0];
  if (!scaleP) throw new UserError(`layer ${l.name}: normalisation needs a scale`);
  const A = constI(axes);
  const mean = (t: string) => one('ReduceMean', [t, A], { keepdims: 1 });
  const d = one('Sub', [x, mean(x)]);
  const inv = one('Reciprocal', [one('Sqrt', [one('Add', [mean(one('Mul', [d, d])), scalar(l.eps)])])]);
  const xhat = one('Mul', [d, inv]);
  const scale = constF(channelDims ?? scaleP.shape, scaleP.data);
  let y = one('Mul', [xhat, scale]);
  const biasP = l.kind === 'instancenorm' || l.biasTerm ? params?.[1] : undefined;
  if (l.kind === 'instancenorm' && !biasP) throw new UserError(`layer ${l.name}: instance normalisation needs scale and bias`);
  if (biasP) y = one('Add', [y, constF(channelDims ?? biasP.shape, biasP.data)]);
  return {
    outs: [y],
    back: ([g]) => {
      if (!g) return [undefined];
      const gh = one('Mul', [g, scale]);
      return [one('Mul', [inv, one('Sub', [one('Sub', [gh, mean(gh)]), one('Mul', [xhat, mean(one('Mul', [gh, xhat]))])])])];
    },
  };
}

/** Constant padding as Slice (negative pads crop) and Pad; edge/reflect as Pad, their gradient as matrices per axis. */
function pad(o: GraphOps, l: PadLayer, x: string, shape: number[]): { outs: string[]; back: Backward } {
  const { one, constI, constF, scalar } = o;
  const rank = shape.length;
  const begin = l.pads.slice(0, rank);
  const end = l.pads.slice(rank);
  const mode = l.mode;
  if (mode !== 'constant') {
    if (begin.some((p) => p < 0) || end.some((p) => p < 0)) throw new UserError(`layer ${l.name}: negative ${l.mode} padding is not supported`);
    const y = one('Pad', [x, constI([0, ...begin, 0, ...end])], { mode: l.mode });
    return {
      outs: [y],
      back: ([g]) => {
        if (!g) return [undefined];
        let t = g;
        for (let i = 0; i < rank; i++) {
          if (!begin[i] && !end[i]) continue;
          const n = shape[i];
          const outN = n + begin[i] + end[i];
          // Row j of the gathered axis came from input position idx(j): the transposed selection [out, in].
          const m = new Float32Array(outN * n);
          for (let j = 0; j < outN; j++) m[j * n + sourceIndex(j - begin[i], n, mode)] += 1;
          t = alongAxis(o, t, i + 1, rank + 1, constF([outN, n], m));
        }
        return [t];
      },
    };
  }
  const crop = begin.some((p) => p < 0) || end.some((p) => p < 0);
  const cb = begin.map((p) => Math.max(-p, 0));
  const ce = end.map((p) => Math.max(-p, 0));
  const pb = begin.map((p) => Math.max(p, 0));
  const pe = end.map((p) => Math.max(p, 0));
  const axes = range(rank, 1);
  const cropped = shape.map((d, i) => d - cb[i] - ce[i]);
  let y = x;
  if (crop) y = one('Slice', [y, constI(cb), constI(cropped.map((d, i) => cb[i] + d)), constI(axes)]);
  const grow = pb.some(Boolean) || pe.some(Boolean);
  if (grow) y = one('Pad', [y, constI([0, ...pb, 0, ...pe]), scalar(l.value)]);
  return {
    outs: [y],
    back: ([g]) => {
      if (!g) return [undefined];
      let t = g;
      if (grow) t = one('Slice', [t, constI(pb), constI(cropped.map((d, i) => pb[i] + d)), constI(axes)]);
      if (crop) t = one('Pad', [t, constI([0, ...cb, 0, ...ce])]);
      return [t];
    },
  };
}

/** The input position padding position i (may lie outside [0, n)) copies, as the executor's gather. */
function sourceIndex(i: number, n: number, mode: 'edge' | 'reflect'): number {
  if (mode === 'edge') return Math.min(Math.max(i, 0), n - 1);
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = ((i % period) + period) % period;
  if (j >= n) j = period - j;
  return j;
}

/**
 * ONNX/TF pooling over 1 or 2 spatial axes, with the end pads made explicit (the last window's
 * need, as the executor pads): max as MaxPool (its switches, when a gradient is built, from its
 * Indices), average as a depthwise window sum over zero padding divided by the counted positions.
 */
function pooling(o: GraphOps, l: PoolingLayer, x: string, shape: number[]): { outs: string[]; back: Backward } {
  const [C, ...sp] = shape;
  if (sp.length !== l.kernel.length) o.refuse(`pooling over ${l.kernel.length} axes of a ${shape.length}-axis blob`);
  const k = l.kernel,
    s = l.stride,
    d = l.dilation,
    pb = l.padBegin;
  const outs = sp.map((n, i) => pooledSize(n, k[i], s[i], d[i], pb[i], l.padEnd[i], l.ceil));
  const pe = sp.map((n, i) => Math.max((outs[i] - 1) * s[i] + d[i] * (k[i] - 1) + 1 - n - pb[i], 0));
  const pads = [...pb, ...pe];
  const count = sp.reduce((a, b) => a * b, 1);
  if (l.method === 'max') {
    return maxPoolOnnx(o, x, C, sp, { kernel_shape: k, strides: s, dilations: d, pads });
  }
  // Divisor per output cell: counted positions (valid, plus explicit padding with countIncludePad).
  const axisCount = (n: number, i: number, out: number) => {
    const lo = l.countIncludePad ? -pb[i] : 0;
    const hi = l.countIncludePad ? n + l.padEnd[i] : n;
    let c = 0;
    for (let q = 0; q < k[i]; q++) {
      const p = out * s[i] - pb[i] + q * d[i];
      if (p >= lo && p < hi) c++;
    }
    return c;
  };
  const cells = outs.reduce((a, b) => a * b, 1);
  const inv = new Float32Array(cells);
  for (let c = 0; c < cells; c++) {
    const pos = outs.length === 2 ? [Math.floor(c / outs[1]), c % outs[1]] : [c];
    inv[c] =
      1 /
      Math.max(
        1,
        pos.reduce((a, p, i) => a * axisCount(sp[i], i, p), 1),
      );
  }
  return avgPoolOnnx(o, x, C, sp, outs, inv, { kernel_shape: k, strides: s, dilations: d, pads }, count);
}

export interface WindowAttrs {
  kernel_shape: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads, then end pads, per spatial axis: every output window lies inside. */
  pads: number[];
}

/** Max pooling; its gradient scatters g to the switches (MaxPool's Indices, saved as int32). */
export function maxPoolOnnx(o: GraphOps, x: string, C: number, sp: number[], attrs: WindowAttrs): { outs: string[]; back: Backward } {
  const { one, constI } = o;
  const dilated = attrs.dilations.some((v) => v !== 1);
  // Indices (the switches) only where a gradient needs them: MaxPool without them is MLAS's fast kernel.
  const [y, idx] = o.node(
    'MaxPool',
    [x],
    dilated ? { ...attrs } : { kernel_shape: attrs.kernel_shape, strides: attrs.strides, pads: attrs.pads },
    o.grad ? 2 : 1,
  );
  const switches = idx ? one('Cast', [idx], { to: INT32 }) : undefined;
  if (switches) o.typed(switches, INT32);
  const size = C * sp.reduce((a, b) => a * b, 1);
  return {
    outs: [y],
    back: ([g]) => {
      if (!g) return [undefined];
      const flat = constI([-1]);
      const total = one('Mul', [one('Slice', [one('Shape', [g]), constI([0]), constI([1])]), constI([size])]);
      const scattered = one('ScatterElements', [one('ConstantOfShape', [total]), one('Reshape', [switches!, flat]), one('Reshape', [g, flat])], {
        axis: 0,
        reduction: 'add',
      });
      return [one('Reshape', [scattered, constI([-1, C, ...sp])])];
    },
  };
}

/** Average pooling as a depthwise sum (Conv with ones) times 1/divisor per cell; its gradient the transposed sum. */
export function avgPoolOnnx(
  o: GraphOps,
  x: string,
  C: number,
  sp: number[],
  outs: number[],
  inv: Float32Array,
  attrs: WindowAttrs,
  count: number,
): { outs: string[]; back: Backward } {
  const { one, constF } = o;
  const k = attrs.kernel_shape;
  const taps = k.reduce((a, b) => a * b, 1);
  const conv = { ...attrs, group: C };
  const full = k.length === sp.length && sp.every((n, i) => k[i] === n && outs[i] === 1) && attrs.pads.every((p) => p === 0);
  if (full) {
    // One window over the whole map: the mean, its gradient spread as a broadcasting product.
    return {
      outs: [one('GlobalAveragePool', [x])],
      back: ([g]) => [g && one('Mul', [g, constF([1, 1, ...sp], new Float32Array(count).fill(1 / count))])],
    };
  }
  const ones = constF([C, 1, ...k], new Float32Array(C * taps).fill(1));
  const div = constF([1, 1, ...outs], inv);
  // ConvTranspose's output must be the input's size: the rows past the last window come back as output padding.
  const outputPadding = sp.map(
    (n, i) => n - ((outs[i] - 1) * attrs.strides[i] + attrs.dilations[i] * (k[i] - 1) + 1 - attrs.pads[i] - attrs.pads[i + sp.length]),
  );
  return {
    outs: [one('Mul', [one('Conv', [x, ones], conv), div])],
    back: ([g]) => [g && one('ConvTranspose', [one('Mul', [g, div]), ones], { ...conv, output_padding: outputPadding })],
  };
}
