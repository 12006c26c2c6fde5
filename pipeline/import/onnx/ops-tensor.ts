import type { ReduceLayer } from '../../graph/tensor-layers.ts';
import { type BatchAt, batchStride, FRONT, isFront, locateBatch, permuteBatch } from './batch-axis.ts';
import { Ctx, type Value } from './context.ts';
import type { Converter } from './ops-nn.ts';
import { DataType, type NodeProto } from './proto.ts';
import { FLOAT_TYPES, numel, typeName } from './tensor.ts';

/** ONNX → Graph for layout ops (Reshape, Flatten, Transpose, (Un)Squeeze, Concat, Pad, Slice, Split), reductions, Identity/Dropout. */

function emitReshape(ctx: Ctx, node: NodeProto, name: string, shape: number[], pre?: number[], at?: BatchAt): void {
  const x = ctx.anyValue(node, node.inputs[0]);
  const plain = !pre && isFront(at) && isFront(x.at) && shape.length === 1 && (x.shape.length === 3 || x.shape.length === 1);
  if (plain) ctx.emit({ kind: 'flatten', name, bottoms: [x.blob], tops: [node.outputs[0]] });
  else if (!pre && shape.length === x.shape.length && shape.every((d, i) => d === x.shape[i]))
    ctx.emit({ kind: 'identity', name, bottoms: [x.blob], tops: [node.outputs[0]] }, undefined, at);
  else ctx.emit({ kind: 'reshape', name, bottoms: [x.blob], tops: [node.outputs[0]], shape, ...(pre ? { pre } : {}) }, undefined, at);
}

/**
 * The per-image shape and batch position after reshaping `x` to the ONNX dims `target`: the
 * batch stays on axis 0, or (attention's head split and merge) is followed to where its stride
 * falls; a reshape that mixes images is refused.
 */
function reshapeTarget(ctx: Ctx, node: NodeProto, x: Value, target: number[]): { shape: number[]; at?: BatchAt } {
  if (isFront(x.at) && target[0] === ctx.batch && numel(target.slice(1)) === numel(x.shape)) return { shape: target.slice(1) };
  const found = locateBatch(batchStride(x.shape, x.at), target, ctx.batch);
  if (found === 'ambiguous')
    ctx.fail(
      node,
      `reshaping [${ctx.dims(x)}] to [${target}]: with a batch of 1 in the model, where the batch goes is ambiguous (export the model with a dynamic batch axis)`,
    );
  if (!found) ctx.fail(node, `reshaping [${ctx.dims(x)}] to [${target}] moves values across the batch axis (axis 0 must stay the batch)`);
  return found;
}

export const reshape: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const spec = ctx.ints(node, ctx.constant(node, node.inputs[1], 'shape'), 'shape');
  const full = ctx.dims(x);
  const allowZero = a.int('allowzero', 0) === 1;
  const out = spec.map((d, i) => (d === 0 && !allowZero ? (full[i] ?? ctx.fail(node, `shape[${i}] = 0 copies a missing axis`)) : d));
  const free = out.indexOf(-1);
  if (out.filter((d) => d === -1).length > 1) ctx.fail(node, `shape [${spec}] has more than one -1`);
  if (free >= 0) {
    const rest = numel(out.filter((d) => d !== -1));
    if (rest === 0 || numel(full) % rest) ctx.fail(node, `cannot reshape [${full}] to [${spec}]`);
    out[free] = numel(full) / rest;
  }
  if (numel(out) !== numel(full)) ctx.fail(node, `cannot reshape [${full}] (${numel(full)} values) to [${spec}]`);
  const t = reshapeTarget(ctx, node, x, out);
  emitReshape(ctx, node, name, t.shape, undefined, t.at);
};

export const flatten: Converter = (ctx, node, a, name) => {
  const x = ctx.value(node, node.inputs[0]);
  const r = x.shape.length + 1;
  let axis = a.int('axis', 1);
  if (axis < 0) axis += r;
  if (axis < 1 || numel(x.shape.slice(0, axis - 1)) !== 1) ctx.fail(node, `axis ${a.int('axis', 1)} folds the batch axis into another one`);
  emitReshape(ctx, node, name, [numel(x.shape)]);
};

export const transpose: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const r = ctx.dims(x).length;
  const perm = a.ints('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i);
  if (perm.length !== r || [...perm].sort((p, q) => p - q).some((p, i) => p !== i)) ctx.fail(node, `perm [${perm}] is not a permutation of ${r} axes`);
  // The batch moves with its axis (torchvision's attention works on [T, N, C]).
  const { at, perImage } = permuteBatch(x.at, perm);
  if (perImage.every((p, i) => p === i)) {
    ctx.emit({ kind: 'identity', name, bottoms: [x.blob], tops: [node.outputs[0]] }, undefined, at);
    return;
  }
  ctx.emit({ kind: 'reshape', name, bottoms: [x.blob], tops: [node.outputs[0]], pre: perImage, shape: perImage.map((p) => x.shape[p]) }, undefined, at);
};

/** Axes from the attribute (older opsets) or the second input (opset 13+). */
function axesOf(ctx: Ctx, node: NodeProto, attr: number[] | undefined): number[] | undefined {
  if (node.inputs[1]) return ctx.ints(node, ctx.constant(node, node.inputs[1], 'axes'), 'axes');
  return attr;
}

/** Size-1 ONNX axes removed or inserted: the values keep their order, the batch's axis is renumbered. */
function emitRegroup(ctx: Ctx, node: NodeProto, name: string, x: Value, outDims: number[], batchAxis: number): void {
  const at = x.at ?? FRONT;
  const shape = at.merged ? outDims.map((d, i) => (i === batchAxis ? d / ctx.batch : d)) : outDims.filter((_, i) => i !== batchAxis);
  const next: BatchAt = { ...at, axis: batchAxis };
  emitReshape(ctx, node, name, shape, undefined, next);
}

export const squeeze: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const dims = ctx.dims(x);
  const r = dims.length;
  const b = (x.at ?? FRONT).axis;
  const axes = axesOf(ctx, node, a.ints('axes'));
  const drop = axes ? axes.map((ax) => (ax < 0 ? ax + r : ax)) : dims.flatMap((d, i) => (d === 1 && i !== b ? [i] : []));
  for (const d of drop) {
    if (d < 0 || d >= r) ctx.fail(node, `axis ${d} is out of range for a ${r}-D tensor`);
    if (d === b) ctx.fail(node, `squeezes axis ${d}, the batch axis`);
    if (dims[d] !== 1) ctx.fail(node, `cannot squeeze axis ${d} of size ${dims[d]}`);
  }
  emitRegroup(
    ctx,
    node,
    name,
    x,
    dims.filter((_, i) => !drop.includes(i)),
    b - drop.filter((d) => d < b).length,
  );
};

export const unsqueeze: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const dims = ctx.dims(x);
  const axes = axesOf(ctx, node, a.ints('axes')) ?? ctx.fail(node, 'axes are required');
  const outRank = dims.length + axes.length;
  const ins = axes.map((ax) => (ax < 0 ? ax + outRank : ax));
  if (ins.some((ax) => ax < 0 || ax >= outRank)) ctx.fail(node, `axes [${axes}] out of range for a ${outRank}-D result`);
  if (ins.includes(0) && isFront(x.at)) ctx.fail(node, 'operates along axis 0, the batch axis (deepvis runs each image of a batch independently)');
  const out: number[] = [];
  let j = 0,
    batchAxis = -1;
  const b = (x.at ?? FRONT).axis;
  for (let i = 0; i < outRank; i++) {
    if (ins.includes(i)) out.push(1);
    else {
      if (j === b) batchAxis = i;
      out.push(dims[j++]);
    }
  }
  emitRegroup(ctx, node, name, x, out, batchAxis);
};

/**
 * Gather on image data with constant indices along an axis that is not the batch's: one index
 * (x[:, 0], the class token; a slice of a stacked Q/K/V) drops the axis, a run of consecutive
 * indices crops it.
 */
export const gather: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const idx = ctx.constant(node, node.inputs[1], 'indices');
  const dims = ctx.dims(x);
  const r = dims.length;
  let axis = a.int('axis', 0);
  if (axis < 0) axis += r;
  const p = ctx.axisOf(node, x, axis);
  const n = dims[axis];
  const values = ctx.ints(node, idx, 'indices').map((i) => (i < 0 ? i + n : i));
  if (values.some((i) => i < 0 || i >= n)) ctx.fail(node, `index out of range for an axis of ${n}`);
  if (idx.dims.length > 1 || values.some((v, k) => k > 0 && v !== values[k - 1] + 1) || !values.length)
    ctx.fail(node, 'only one index or a run of consecutive indices is supported on image data (embedding lookups are not)');
  const rank = x.shape.length;
  const pads = new Array(2 * rank).fill(0);
  pads[p] = -values[0];
  pads[p + rank] = -(n - values[values.length - 1] - 1);
  const scalar = idx.dims.length === 0;
  const top = scalar ? ctx.internalBlob(`${node.outputs[0]}/crop`) : node.outputs[0];
  ctx.emit(
    { kind: 'pad', name: scalar ? ctx.layerName(`${name}/crop`) : name, bottoms: [x.blob], tops: [top], pads, mode: 'constant', value: 0 },
    undefined,
    x.at,
  );
  if (!scalar) return;
  const at = x.at ?? FRONT;
  const shape = x.shape.filter((_, i) => i !== p);
  const next = { ...at, axis: axis < at.axis ? at.axis - 1 : at.axis };
  ctx.emit({ kind: 'reshape', name, bottoms: [top], tops: [node.outputs[0]], shape }, undefined, next);
};

export const concat: Converter = (ctx, node, a, name) => {
  const inputs = node.inputs.filter(Boolean);
  const data = inputs.find((n) => !ctx.isConst(n)) ?? ctx.fail(node, 'all inputs are constants');
  const rank = ctx.value(node, data).shape.length;
  const axis = ctx.imageAxis(node, a.int('axis', 1), rank);
  let constants = false;
  const blobs = inputs.map((n) => {
    if (!ctx.isConst(n)) return ctx.value(node, n).blob;
    constants = true;
    return constBlob(ctx, node, n, rank);
  });
  if (axis === 0 && (rank === 1 || rank === 3) && !constants) ctx.emit({ kind: 'concat', name, bottoms: blobs, tops: [node.outputs[0]], axis: 1 });
  else ctx.emit({ kind: 'concatnd', name, bottoms: blobs, tops: [node.outputs[0]], axis });
};

/** A constant used as image data: emitted as a `const` layer (batch axis must be 1). */
export function constBlob(ctx: Ctx, node: NodeProto, name: string, rank: number): string {
  if (ctx.values.has(name)) return ctx.values.get(name)!.blob;
  const t = ctx.oneImage(ctx.consts.get(name)!);
  if (t.dims.length !== rank + 1) ctx.fail(node, `constant "${name}" [${t.dims}] must have ${rank + 1} axes like the other inputs`);
  const shape = ctx.alignConst(node, t, rank);
  ctx.emit({ kind: 'const', name: ctx.layerName(name), bottoms: [ctx.inputBlob], tops: [name], shape }, [Ctx.param([1, ...shape], ctx.floats(t))]);
  return name;
}

export const pad: Converter = (ctx, node, a, name) => {
  const x = ctx.value(node, node.inputs[0]);
  const r = x.shape.length;
  let pads: number[];
  let value: number;
  if (ctx.opset < 11) {
    pads = a.ints('pads') ?? a.ints('paddings') ?? ctx.fail(node, 'pads are required');
    value = a.float('value', 0);
  } else {
    pads = ctx.ints(node, ctx.constant(node, node.inputs[1], 'pads'), 'pads');
    const v = ctx.optConst(node, 2, 'constant_value');
    value = v ? (v.data[0] ?? 0) : 0;
  }
  let full = pads;
  if (node.inputs[3]) {
    const axes = ctx.ints(node, ctx.constant(node, node.inputs[3], 'axes'), 'axes').map((ax) => (ax < 0 ? ax + r + 1 : ax));
    full = new Array(2 * (r + 1)).fill(0);
    axes.forEach((ax, i) => {
      full[ax] = pads[i];
      full[ax + r + 1] = pads[i + axes.length];
    });
  }
  if (full.length !== 2 * (r + 1)) ctx.fail(node, `pads has ${full.length} values, expected ${2 * (r + 1)}`);
  if (full[0] !== 0 || full[r + 1] !== 0) ctx.fail(node, 'pads the batch axis');
  const mode = a.string('mode', 'constant');
  if (mode !== 'constant' && mode !== 'reflect' && mode !== 'edge') return ctx.fail(node, `mode "${mode}" is not supported`);
  ctx.emit({ kind: 'pad', name, bottoms: [x.blob], tops: [node.outputs[0]], pads: [...full.slice(1, r + 1), ...full.slice(r + 2)], mode, value });
};

/** Slice with step 1 on image data: a crop (padding by negative amounts). */
export const slice: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const r = x.shape.length;
  const full = ctx.dims(x);
  const get = (i: number, attr: string) =>
    ctx.opset < 10 ? a.ints(attr) : node.inputs[i] ? ctx.ints(node, ctx.constant(node, node.inputs[i], attr), attr) : undefined;
  const starts = get(1, 'starts') ?? ctx.fail(node, 'starts are required');
  const ends = get(2, 'ends') ?? ctx.fail(node, 'ends are required');
  const axes = get(3, 'axes') ?? starts.map((_, i) => i);
  const steps = ctx.opset < 10 ? undefined : get(4, 'steps');
  if (steps?.some((s) => s !== 1)) ctx.fail(node, `steps [${steps}] other than 1 are not supported`);
  const begin = new Array(r).fill(0),
    end = new Array(r).fill(0);
  axes.forEach((ax0, i) => {
    const ax = ax0 < 0 ? ax0 + full.length : ax0;
    const n = full[ax];
    const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + n : v, 0), n);
    const s = clamp(starts[i]),
      e = clamp(ends[i]);
    const onBatch = ax === (x.at?.axis ?? 0);
    if (onBatch) {
      if (s !== 0 || e !== n) ctx.fail(node, 'slices the batch axis');
      return;
    }
    if (e <= s) ctx.fail(node, `empty slice [${starts[i]}, ${ends[i]}) of axis ${ax}`);
    const p = ctx.axisOf(node, x, ax);
    begin[p] = -s;
    end[p] = -(n - e);
  });
  ctx.emit({ kind: 'pad', name, bottoms: [x.blob], tops: [node.outputs[0]], pads: [...begin, ...end], mode: 'constant', value: 0 }, undefined, x.at);
};

/** Split along an image axis: one crop per output. */
export const split: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const r = x.shape.length;
  const axis = ctx.axisOf(node, x, a.int('axis', 0));
  const n = x.shape[axis];
  const parts =
    (node.inputs[1] ? ctx.ints(node, ctx.constant(node, node.inputs[1], 'split'), 'split') : a.ints('split')) ??
    new Array(node.outputs.length).fill(Math.ceil(n / node.outputs.length)).map((s, i, all) => (i === all.length - 1 ? n - s * (all.length - 1) : s));
  if (parts.length !== node.outputs.length || parts.reduce((p, q) => p + q, 0) !== n) ctx.fail(node, `split [${parts}] does not divide ${n}`);
  let at = 0;
  parts.forEach((size, i) => {
    const pads = new Array(2 * r).fill(0);
    pads[axis] = -at;
    pads[axis + r] = -(n - at - size);
    at += size;
    if (node.outputs[i])
      ctx.emit(
        { kind: 'pad', name: ctx.layerName(`${name}/${i}`), bottoms: [x.blob], tops: [node.outputs[i]], pads, mode: 'constant', value: 0 },
        undefined,
        x.at,
      );
  });
};

export const reduce =
  (op: ReduceLayer['op']): Converter =>
  (ctx, node, a, name) => {
    const x = ctx.value(node, node.inputs[0]);
    const r = x.shape.length;
    const fromInput = node.inputs[1] ? ctx.ints(node, ctx.constant(node, node.inputs[1], 'axes'), 'axes') : undefined;
    const axes = fromInput ?? a.ints('axes');
    if (!axes?.length) {
      if (a.int('noop_with_empty_axes', 0)) {
        ctx.emit({ kind: 'identity', name, bottoms: [x.blob], tops: [node.outputs[0]] });
        return;
      }
      return ctx.fail(node, 'reduces over every axis, the batch axis included');
    }
    const keepDims = a.int('keepdims', 1) === 1;
    ctx.emit({ kind: 'reduce', name, bottoms: [x.blob], tops: [node.outputs[0]], op, axes: axes.map((ax) => ctx.imageAxis(node, ax, r)), keepDims });
  };

export const identity: Converter = (ctx, node, _a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  if (node.opType === 'Dropout') {
    if (node.outputs.slice(1).some(Boolean)) ctx.fail(node, 'the mask output is not supported');
    const training = ctx.optConst(node, 2, 'training_mode');
    if (training?.data[0]) ctx.fail(node, 'training_mode = true (random dropout) is not supported (inference only)');
  }
  ctx.emit({ kind: 'identity', name, bottoms: [x.blob], tops: [node.outputs[0]] }, undefined, x.at);
};

/** Cast of image data: float targets keep the value (computation stays float32); others are refused. */
export const cast: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const to = node.opType === 'CastLike' ? ctx.constant(node, node.inputs[1], 'target').dataType : a.int('to', 0);
  if (!FLOAT_TYPES.has(to)) ctx.fail(node, `cast of image data to ${typeName(to)} is not supported (float only)`);
  if (to === DataType.BFLOAT16) ctx.fail(node, 'rounding to bfloat16 is not emulated (deepvis computes in float32)');
  ctx.emit({ kind: 'identity', name, bottoms: [x.blob], tops: [node.outputs[0]] }, undefined, x.at);
};
