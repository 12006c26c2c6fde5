import type { ActivationFn, BinaryOp } from '../../graph/tensor-layers.ts';
import { sameAt } from './batch-axis.ts';
import { Ctx } from './context.ts';
import type { Converter } from './ops-nn.ts';
import type { NodeProto } from './proto.ts';

/** ONNX → Graph for elementwise ops: activations, Clip, and binary/n-ary arithmetic with broadcasting. */

export const relu: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const slope = node.opType === 'LeakyRelu' ? a.float('alpha', 0.01) : 0;
  ctx.emit({ kind: 'relu', name, bottoms: [x.blob], tops: [node.outputs[0]], negativeSlope: slope }, undefined, x.at);
};

/** Defaults of alpha/beta/gamma per ONNX operator. */
const DEFAULTS: Partial<Record<ActivationFn, { alpha?: number; beta?: number; gamma?: number }>> = {
  elu: { alpha: 1 },
  // biome-ignore lint/correctness/noPrecisionLoss: the exact float32 values of ONNX's Selu defaults (representable as doubles)
  selu: { alpha: 1.67326319217681884765625, gamma: 1.05070102214813232421875 },
  hardsigmoid: { alpha: 0.2, beta: 0.5 },
};

export const activation =
  (fn: ActivationFn): Converter =>
  (ctx, node, a, name) => {
    const x = ctx.anyValue(node, node.inputs[0]);
    const d = DEFAULTS[fn] ?? {};
    ctx.emit(
      {
        kind: 'activation',
        name,
        bottoms: [x.blob],
        tops: [node.outputs[0]],
        fn,
        alpha: a.float('alpha', d.alpha ?? 1),
        beta: a.float('beta', d.beta ?? 0),
        gamma: a.float('gamma', d.gamma ?? 1),
      },
      undefined,
      x.at,
    );
  };

export const clip: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  let min = -Infinity,
    max = Infinity;
  if (ctx.opset < 11) {
    min = a.float('min', -Infinity);
    max = a.float('max', Infinity);
  } else {
    const lo = ctx.optConst(node, 1, 'min');
    const hi = ctx.optConst(node, 2, 'max');
    if (lo) min = lo.data[0];
    if (hi) max = hi.data[0];
  }
  if (min === 0 && max === Infinity) {
    ctx.emit({ kind: 'relu', name, bottoms: [x.blob], tops: [node.outputs[0]], negativeSlope: 0 }, undefined, x.at);
    return;
  }
  ctx.emit({ kind: 'clip', name, bottoms: [x.blob], tops: [node.outputs[0]], min, max }, undefined, x.at);
};

const BINARY: Record<string, BinaryOp> = { Add: 'add', Sub: 'sub', Mul: 'mul', Div: 'div', Pow: 'pow', Max: 'max', Min: 'min', PRelu: 'prelu', Sum: 'add' };

const sameShape = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** One binary op on two ONNX tensors (data or constant), emitting one layer with output `top`. */
function emitBinary(ctx: Ctx, node: NodeProto, name: string, op: BinaryOp, left: string, right: string, top: string): void {
  const lc = ctx.isConst(left),
    rc = ctx.isConst(right);
  if (lc && rc) ctx.fail(node, 'internal: both operands constant (should have been folded)');
  if (!lc && !rc) {
    const x = ctx.anyValue(node, left),
      y = ctx.anyValue(node, right);
    if (!sameAt(x.at, y.at)) ctx.fail(node, `the operands hold the batch on different axes (${x.at?.axis ?? 0} and ${y.at?.axis ?? 0})`);
    if (x.shape.length !== y.shape.length) {
      // A lower-rank operand broadcasts against trailing image axes: that would align its batch axis with an image axis.
      ctx.fail(node, `operands of ${x.shape.length + 1} and ${y.shape.length + 1} axes would mix the batch axis into the image axes`);
    }
    if (sameShape(x.shape, y.shape) && (op === 'add' || op === 'sub' || op === 'mul' || op === 'max')) {
      const eop = op === 'mul' ? 'prod' : op === 'max' ? 'max' : 'sum';
      ctx.emit({ kind: 'eltwise', name, bottoms: [x.blob, y.blob], tops: [top], op: eop, coeffs: op === 'sub' ? [1, -1] : [] }, undefined, x.at);
      return;
    }
    ctx.emit({ kind: 'binary', name, bottoms: [x.blob, y.blob], tops: [top], op, constant: 'none' }, undefined, x.at);
    return;
  }
  const x = ctx.anyValue(node, lc ? right : left);
  const c = ctx.oneImage(ctx.consts.get(lc ? left : right)!);
  const constShape = ctx.alignConstTo(node, c, x);
  ctx.emit(
    { kind: 'binary', name, bottoms: [x.blob], tops: [top], op, constant: lc ? 'first' : 'second', constShape },
    [Ctx.param([1, ...constShape], ctx.floats(c))],
    x.at,
  );
}

/**
 * SiLU as PyTorch exports it, x · Sigmoid(x), when nothing else reads the sigmoid: one `swish`
 * activation (so deconv and guided backprop treat it as the rectifier it is).
 */
function fuseSilu(ctx: Ctx, node: NodeProto, name: string, inputs: string[]): boolean {
  if (node.opType !== 'Mul' || inputs.length !== 2 || inputs.some((n) => ctx.isConst(n))) return false;
  for (const [x, s] of [inputs, [inputs[1], inputs[0]]]) {
    const gate = ctx.layers.find((l) => l.tops[0] === s && l.tops.length === 1);
    if (gate?.kind !== 'activation' || gate.fn !== 'sigmoid' || gate.bottoms[0] !== ctx.values.get(x)?.blob || gate.alpha !== 1) continue;
    if (!ctx.takeBack(s)) continue;
    const v = ctx.anyValue(node, x);
    ctx.emit({ kind: 'activation', name, bottoms: [v.blob], tops: [node.outputs[0]], fn: 'swish', alpha: 1, beta: 0, gamma: 1 }, undefined, v.at);
    return true;
  }
  return false;
}

export const binary: Converter = (ctx, node, _a, name) => {
  const op = BINARY[node.opType];
  const inputs = node.inputs.filter(Boolean);
  if (fuseSilu(ctx, node, name, inputs)) return;
  if (inputs.length === 1) {
    ctx.emit({ kind: 'identity', name, bottoms: [ctx.value(node, inputs[0]).blob], tops: [node.outputs[0]] });
    return;
  }
  if (node.opType === 'Sum' || node.opType === 'Max') {
    const vals = inputs.every((n) => !ctx.isConst(n)) ? inputs.map((n) => ctx.value(node, n)) : undefined;
    if (vals && vals.length > 2 && vals.every((v) => sameShape(v.shape, vals[0].shape))) {
      ctx.emit({ kind: 'eltwise', name, bottoms: vals.map((v) => v.blob), tops: [node.outputs[0]], op: op === 'max' ? 'max' : 'sum', coeffs: [] });
      return;
    }
  }
  // n-ary (Sum/Max/Min) and binary ops: a chain of binary layers, the last writing the output.
  let acc = inputs[0];
  for (let i = 1; i < inputs.length; i++) {
    const last = i === inputs.length - 1;
    const top = last ? node.outputs[0] : ctx.internalBlob(`${node.outputs[0]}/${i}`);
    emitBinary(ctx, node, last ? name : ctx.layerName(`${name}/${i}`), op, acc, inputs[i], top);
    acc = top;
  }
};

/** Mean of n inputs: Sum then × 1/n. */
export const mean: Converter = (ctx, node, a, name) => {
  const inputs = node.inputs.filter(Boolean);
  const sumTop = ctx.internalBlob(`${node.outputs[0]}/sum`);
  binary(ctx, { ...node, opType: 'Sum', outputs: [sumTop] }, a, ctx.layerName(`${name}/sum`));
  const shape = ctx.value(node, sumTop).shape;
  ctx.emit({ kind: 'binary', name, bottoms: [sumTop], tops: [node.outputs[0]], op: 'mul', constant: 'second', constShape: shape.map(() => 1) }, [
    Ctx.param([1, ...shape.map(() => 1)], new Float32Array([1 / inputs.length])),
  ]);
};
