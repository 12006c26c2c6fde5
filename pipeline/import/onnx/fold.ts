import type { Ctx } from './context.ts';
import { DataType, type NodeProto } from './proto.ts';
import { decodeTensor, FLOAT_TYPES, numel, type Tensor } from './tensor.ts';
import { Attrs } from './context.ts';

/**
 * Constant folding at import: nodes whose inputs are all constants (and Shape and Size, whose
 * results are known statically) are evaluated here, so shape arithmetic of exported models
 * (Shape → Gather → Unsqueeze → Concat → Reshape) and weight preprocessing become constants.
 * Shape reports the batch axis as the model's declared batch size (1 when symbolic).
 */

export const FOLDABLE: ReadonlySet<string> = new Set([
  'Constant',
  'Shape',
  'Gather',
  'Unsqueeze',
  'Squeeze',
  'Concat',
  'Cast',
  'Identity',
  'Reshape',
  'Flatten',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Neg',
  'Sqrt',
  'Reciprocal',
  'Exp',
  'Log',
  'Abs',
  'Floor',
  'Ceil',
  'Slice',
  'ConstantOfShape',
  'Transpose',
  'Range',
  'Dropout',
  'Min',
  'Max',
  'Expand',
  'Equal',
  'Less',
  'Greater',
  'LessOrEqual',
  'GreaterOrEqual',
  'Not',
  'And',
  'Or',
  'Where',
  'Mod',
  'Size',
]);

function make(name: string, dims: number[], dataType: number, values: ArrayLike<number>): Tensor {
  const data = FLOAT_TYPES.has(dataType) ? Float32Array.from(values) : Float64Array.from(values);
  return { name, dims, dataType, data };
}

const strides = (dims: number[]) => {
  const s = new Array(dims.length).fill(1);
  for (let i = dims.length - 2; i >= 0; i--) s[i] = s[i + 1] * dims[i + 1];
  return s;
};

/** numpy broadcasting of several tensors: the output dims and f of their elements at each output position. */
function broadcastAll(ts: Tensor[], f: (values: number[]) => number): { dims: number[]; values: number[] } {
  const r = Math.max(...ts.map((t) => t.dims.length));
  const dims = ts.map((t) => [...Array(r - t.dims.length).fill(1), ...t.dims]);
  const od = dims[0].map((_, k) => Math.max(...dims.map((d) => d[k])));
  const os = strides(od);
  const ss = dims.map(strides);
  const values = new Array(numel(od));
  const at = new Array<number>(ts.length);
  const elems = new Array<number>(ts.length); // reused: f reads it, never keeps it
  for (let i = 0; i < values.length; i++) {
    at.fill(0);
    for (let k = 0; k < r; k++) {
      const q = Math.floor(i / os[k]) % od[k];
      for (let t = 0; t < ts.length; t++) if (dims[t][k] !== 1) at[t] += q * ss[t][k];
    }
    for (let t = 0; t < ts.length; t++) elems[t] = ts[t].data[at[t]];
    values[i] = f(elems);
  }
  return { dims: od, values };
}

/** numpy-broadcast elementwise op over two tensors. */
function broadcast(a: Tensor, b: Tensor, f: (x: number, y: number) => number, name: string): Tensor {
  const { dims, values } = broadcastAll([a, b], ([x, y]) => f(x, y));
  const type = FLOAT_TYPES.has(a.dataType) || FLOAT_TYPES.has(b.dataType) ? DataType.FLOAT : a.dataType;
  return make(name, dims, type, values);
}

/** numpy-broadcast select: cond ? x : y. */
function where(cond: Tensor, x: Tensor, y: Tensor, name: string): Tensor {
  const { dims, values } = broadcastAll([cond, x, y], ([c, a, b]) => (c ? a : b));
  return make(name, dims, x.dataType, values);
}

function transpose(t: Tensor, perm: number[], name: string): Tensor {
  const od = perm.map((p) => t.dims[p]);
  const is = strides(t.dims),
    os = strides(od);
  const out = new Array(t.data.length);
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let k = 0; k < od.length; k++) src += (Math.floor(i / os[k]) % od[k]) * is[perm[k]];
    out[i] = t.data[src];
  }
  return make(name, od, t.dataType, out);
}

/** Whether `node` can be evaluated now (all inputs constant, or a Shape of a known tensor). */
export function canFold(ctx: Ctx, node: NodeProto): boolean {
  if (!FOLDABLE.has(node.opType) || (node.domain && node.domain !== 'ai.onnx')) return false;
  if (node.opType === 'Shape' || node.opType === 'Size') return ctx.values.has(node.inputs[0]) || ctx.isConst(node.inputs[0]);
  return node.inputs.every((n) => !n || ctx.isConst(n));
}

const ARITH: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Pow: (x, y) => x ** y,
  Min: (x, y) => Math.min(x, y),
  Max: (x, y) => Math.max(x, y),
};
/** Comparisons and logic: booleans as 0/1. */
const COMPARE: Record<string, (x: number, y: number) => number> = {
  Equal: (x, y) => +(x === y),
  Less: (x, y) => +(x < y),
  Greater: (x, y) => +(x > y),
  LessOrEqual: (x, y) => +(x <= y),
  GreaterOrEqual: (x, y) => +(x >= y),
  And: (x, y) => +(!!x && !!y),
  Or: (x, y) => +(!!x || !!y),
};
const UNARY: Record<string, (x: number) => number> = {
  Neg: (x) => -x,
  Sqrt: Math.sqrt,
  Reciprocal: (x) => 1 / x,
  Exp: Math.exp,
  Log: Math.log,
  Abs: Math.abs,
  Floor: Math.floor,
  Ceil: Math.ceil,
};

/** Evaluates a foldable node and stores its outputs as constants. */
export function fold(ctx: Ctx, node: NodeProto): void {
  const a = new Attrs(ctx, node);
  const out = node.outputs[0];
  const c = (i: number) => ctx.consts.get(node.inputs[i])!;
  const ints = (i: number) => Array.from(c(i).data);
  const set = (t: Tensor) => ctx.consts.set(out, { ...t, name: out });
  const op = node.opType;
  if (op === 'Constant') {
    const attr = [...node.attrs.entries()][0];
    if (!attr) ctx.fail(node, 'no value');
    const [key, v] = attr;
    if (v.type === 'tensor') set(decodeTensor(v.t, ctx.file));
    else if (key === 'value_float' && v.type === 'float') set(make(out, [], DataType.FLOAT, [v.f]));
    else if (key === 'value_floats' && v.type === 'floats') set(make(out, [v.floats.length], DataType.FLOAT, v.floats));
    else if (key === 'value_int' && v.type === 'int') set(make(out, [], DataType.INT64, [v.i]));
    else if (key === 'value_ints' && v.type === 'ints') set(make(out, [v.ints.length], DataType.INT64, v.ints));
    else ctx.fail(node, `constant attribute "${key}" is not supported`);
    return;
  }
  if (op === 'Shape') {
    const full = ctx.isConst(node.inputs[0]) ? c(0).dims : ctx.dims(ctx.values.get(node.inputs[0])!);
    const r = full.length;
    const norm = (v: number) => Math.min(Math.max(v < 0 ? v + r : v, 0), r);
    const s = full.slice(norm(a.int('start', 0)), norm(a.int('end', r)));
    set(make(out, [s.length], DataType.INT64, s));
    return;
  }
  if (UNARY[op]) return void set(make(out, c(0).dims, c(0).dataType, Array.from(c(0).data, UNARY[op])));
  if (ARITH[op] && node.inputs.length === 2) return void set(broadcast(c(0), c(1), ARITH[op], out));
  if (COMPARE[op]) return void set({ ...broadcast(c(0), c(1), COMPARE[op], out), dataType: DataType.BOOL });
  if (op === 'Mod') {
    // fmod = 1: C's fmod (sign of the dividend); else Python's % (sign of the divisor).
    const f = a.int('fmod', 0) ? (x: number, y: number) => x % y : (x: number, y: number) => ((x % y) + y) % y;
    return void set({ ...broadcast(c(0), c(1), f, out), dataType: c(0).dataType });
  }
  if (op === 'Div') {
    const integer = !FLOAT_TYPES.has(c(0).dataType) && !FLOAT_TYPES.has(c(1).dataType);
    return void set(broadcast(c(0), c(1), integer ? (x, y) => Math.trunc(x / y) : (x, y) => x / y, out));
  }
  switch (op) {
    case 'Not':
      return void set(
        make(
          out,
          c(0).dims,
          DataType.BOOL,
          Array.from(c(0).data, (v) => +!v),
        ),
      );
    case 'Size': {
      const dims = ctx.isConst(node.inputs[0]) ? c(0).dims : ctx.dims(ctx.values.get(node.inputs[0])!);
      return void set(make(out, [], DataType.INT64, [numel(dims)]));
    }
    case 'Where':
      return void set(where(c(0), c(1), c(2), out));
    case 'Expand': {
      const shape = ints(1);
      const ones = make('', shape, c(0).dataType, new Array(numel(shape)).fill(0));
      return void set({ ...broadcast(c(0), ones, (x) => x, out), dataType: c(0).dataType });
    }
    case 'Identity':
    case 'Dropout':
      return void set(c(0));
    case 'Cast': {
      const to = a.int('to', DataType.FLOAT);
      const vals = FLOAT_TYPES.has(to) ? c(0).data : Array.from(c(0).data, Math.trunc);
      return void set(make(out, c(0).dims, to, vals));
    }
    case 'Gather': {
      const t = c(0),
        idx = c(1);
      const r = t.dims.length;
      let axis = a.int('axis', 0);
      if (axis < 0) axis += r;
      const outer = numel(t.dims.slice(0, axis)),
        inner = numel(t.dims.slice(axis + 1)),
        n = t.dims[axis];
      const vals: number[] = [];
      for (let o = 0; o < outer; o++)
        for (const i0 of idx.data) {
          const i = i0 < 0 ? i0 + n : i0;
          if (i < 0 || i >= n) ctx.fail(node, `index ${i0} out of range for size ${n}`);
          for (let k = 0; k < inner; k++) vals.push(t.data[(o * n + i) * inner + k]);
        }
      return void set(make(out, [...t.dims.slice(0, axis), ...idx.dims, ...t.dims.slice(axis + 1)], t.dataType, vals));
    }
    case 'Unsqueeze': {
      const axes = node.inputs[1] ? ints(1) : (a.ints('axes') ?? []);
      const r = c(0).dims.length + axes.length;
      const norm = axes.map((x) => (x < 0 ? x + r : x));
      const dims: number[] = [];
      let j = 0;
      for (let i = 0; i < r; i++) dims.push(norm.includes(i) ? 1 : c(0).dims[j++]);
      return void set({ ...c(0), dims });
    }
    case 'Squeeze': {
      const axes = node.inputs[1] ? ints(1) : a.ints('axes');
      const r = c(0).dims.length;
      const drop = axes ? axes.map((x) => (x < 0 ? x + r : x)) : c(0).dims.flatMap((d, i) => (d === 1 ? [i] : []));
      return void set({ ...c(0), dims: c(0).dims.filter((_, i) => !drop.includes(i)) });
    }
    case 'Concat': {
      const ts = node.inputs.filter(Boolean).map((n) => ctx.consts.get(n)!);
      const r = ts[0].dims.length;
      let axis = a.int('axis', 0);
      if (axis < 0) axis += r;
      const outer = numel(ts[0].dims.slice(0, axis));
      const vals: number[] = [];
      for (let o = 0; o < outer; o++)
        for (const t of ts) {
          const chunk = numel(t.dims.slice(axis));
          for (let k = 0; k < chunk; k++) vals.push(t.data[o * chunk + k]);
        }
      const dims = [...ts[0].dims];
      dims[axis] = ts.reduce((s, t) => s + t.dims[axis], 0);
      const type = ts.some((t) => FLOAT_TYPES.has(t.dataType)) ? DataType.FLOAT : ts[0].dataType;
      return void set(make(out, dims, type, vals));
    }
    case 'Reshape': {
      const spec = ints(1);
      const dims = spec.map((d, i) => (d === 0 && !a.int('allowzero', 0) ? c(0).dims[i] : d));
      const free = dims.indexOf(-1);
      if (free >= 0) dims[free] = numel(c(0).dims) / numel(dims.filter((d) => d !== -1));
      return void set({ ...c(0), dims });
    }
    case 'Flatten': {
      const r = c(0).dims.length;
      let axis = a.int('axis', 1);
      if (axis < 0) axis += r;
      return void set({ ...c(0), dims: [numel(c(0).dims.slice(0, axis)), numel(c(0).dims.slice(axis))] });
    }
    case 'Transpose': {
      const r = c(0).dims.length;
      return void set(transpose(c(0), a.ints('perm') ?? Array.from({ length: r }, (_, i) => r - 1 - i), out));
    }
    case 'ConstantOfShape': {
      const dims = ints(0);
      const v = node.attrs.get('value');
      const t = v?.type === 'tensor' ? decodeTensor(v.t, ctx.file) : make('', [1], DataType.FLOAT, [0]);
      return void set(make(out, dims, t.dataType, new Array(numel(dims)).fill(t.data[0] ?? 0)));
    }
    case 'Range': {
      const [start, limit, delta] = [0, 1, 2].map((i) => c(i).data[0]);
      const vals: number[] = [];
      for (let v = start; delta > 0 ? v < limit : v > limit; v += delta) vals.push(v);
      return void set(make(out, [vals.length], c(0).dataType, vals));
    }
    case 'Slice': {
      const t = c(0);
      const r = t.dims.length;
      const starts = node.inputs[1] ? ints(1) : (a.ints('starts') ?? []);
      const ends = node.inputs[2] ? ints(2) : (a.ints('ends') ?? []);
      const axes = node.inputs[3] ? ints(3) : (a.ints('axes') ?? starts.map((_, i) => i));
      const steps = node.inputs[4] ? ints(4) : starts.map(() => 1);
      const ranges = t.dims.map((n) => ({ s: 0, e: n, st: 1 }));
      axes.forEach((ax0, i) => {
        const ax = ax0 < 0 ? ax0 + r : ax0;
        const n = t.dims[ax],
          st = steps[i];
        const cl = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + n : v, lo), hi);
        ranges[ax] = st > 0 ? { s: cl(starts[i], 0, n), e: cl(ends[i], 0, n), st } : { s: cl(starts[i], 0, n - 1), e: cl(ends[i], -1, n - 1), st };
      });
      const idx = ranges.map(({ s, e, st }) => {
        const v: number[] = [];
        for (let i = s; st > 0 ? i < e : i > e; i += st) v.push(i);
        return v;
      });
      const dims = idx.map((v) => v.length);
      const ts = strides(t.dims),
        os = strides(dims);
      const vals = new Array(numel(dims));
      for (let i = 0; i < vals.length; i++) {
        let src = 0;
        for (let k = 0; k < r; k++) src += idx[k][Math.floor(i / os[k]) % dims[k]] * ts[k];
        vals[i] = t.data[src];
      }
      return void set(make(out, dims, t.dataType, vals));
    }
  }
  ctx.fail(node, 'cannot be evaluated at import');
}
