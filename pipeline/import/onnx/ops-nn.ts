import type { Layer, Pair } from '../../graph/types.ts';
import { isFront, sameAt } from './batch-axis.ts';
import { type Attrs, Ctx, type Value } from './context.ts';
import type { NodeProto } from './proto.ts';
import { numel } from './tensor.ts';

/** ONNX → Graph for the network ops: Conv, ConvTranspose, pooling, Gemm/MatMul, normalisations, LRN. */

export type Converter = (ctx: Ctx, node: NodeProto, a: Attrs, name: string) => void;

/** Begin/end pads of the spatial axes from `pads` or `auto_pad` (SAME_UPPER/SAME_LOWER/VALID). */
export function spatialPads(ctx: Ctx, node: NodeProto, a: Attrs, size: number[], kernel: number[], stride: number[], dilation: number[]): [number[], number[]] {
  const n = size.length;
  const auto = a.string('auto_pad', 'NOTSET');
  if (auto === 'NOTSET') {
    const pads = a.ints('pads') ?? new Array(2 * n).fill(0);
    if (pads.length !== 2 * n) ctx.fail(node, `pads has ${pads.length} values, expected ${2 * n}`);
    return [pads.slice(0, n), pads.slice(n)];
  }
  if (auto === 'VALID') return [new Array(n).fill(0), new Array(n).fill(0)];
  if (auto !== 'SAME_UPPER' && auto !== 'SAME_LOWER') ctx.fail(node, `unknown auto_pad "${auto}"`);
  const begin: number[] = [],
    end: number[] = [];
  for (let i = 0; i < n; i++) {
    const out = Math.ceil(size[i] / stride[i]);
    const total = Math.max((out - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - size[i], 0);
    const small = Math.floor(total / 2);
    begin.push(auto === 'SAME_UPPER' ? small : total - small);
    end.push(auto === 'SAME_UPPER' ? total - small : small);
  }
  return [begin, end];
}

const pair = (v: number[]): Pair => [v[0], v[1]];

/** Emits an explicit zero-padding layer when begin and end pads differ; returns the blob to use and the symmetric pad left. */
function padIfAsymmetric(
  ctx: Ctx,
  node: NodeProto,
  name: string,
  blob: string,
  shape: number[],
  begin: number[],
  end: number[],
  value = 0,
): [string, number[]] {
  if (begin.every((b, i) => b === end[i])) return [blob, begin];
  const top = ctx.internalBlob(`${node.outputs[0]}/pad`);
  ctx.emit({ kind: 'pad', name: ctx.layerName(`${name}/pad`), bottoms: [blob], tops: [top], pads: [0, ...begin, 0, ...end], mode: 'constant', value });
  void shape;
  return [top, begin.map(() => 0)];
}

export const conv: Converter = (ctx, node, a, name) => {
  const x = ctx.value(node, node.inputs[0]);
  const W = ctx.constant(node, node.inputs[1], 'weight');
  const B = ctx.optConst(node, 2, 'bias');
  if (x.shape.length !== 3 || W.dims.length !== 4)
    ctx.fail(node, `only 2-D convolution of C×H×W is supported (input ${x.shape.join('×')}, weight [${W.dims}])`);
  const kernel = a.ints('kernel_shape') ?? W.dims.slice(2);
  if (kernel[0] !== W.dims[2] || kernel[1] !== W.dims[3]) ctx.fail(node, `kernel_shape [${kernel}] does not match the weight [${W.dims}]`);
  const stride = a.ints('strides') ?? [1, 1];
  const dilation = a.ints('dilations') ?? [1, 1];
  const group = a.int('group', 1);
  if (W.dims[1] * group !== x.shape[0]) ctx.fail(node, `weight [${W.dims}] with group ${group} does not fit ${x.shape[0]} input channels`);
  if (B && numel(B.dims) !== W.dims[0]) ctx.fail(node, `bias has ${numel(B.dims)} values, expected ${W.dims[0]}`);
  const [begin, end] = spatialPads(ctx, node, a, x.shape.slice(1), kernel, stride, dilation);
  const [blob, pad] = padIfAsymmetric(ctx, node, name, x.blob, x.shape, begin, end);
  const params = [Ctx.param(W.dims, ctx.floats(W))];
  if (B) params.push(Ctx.param([W.dims[0]], ctx.floats(B)));
  ctx.emit(
    {
      kind: 'conv',
      name,
      bottoms: [blob],
      tops: [node.outputs[0]],
      numOutput: W.dims[0],
      kernel: pair(kernel),
      stride: pair(stride),
      pad: pair(pad),
      dilation: pair(dilation),
      group,
      biasTerm: Boolean(B),
    },
    params,
  );
};

export const convTranspose: Converter = (ctx, node, a, name) => {
  const x = ctx.value(node, node.inputs[0]);
  const W = ctx.constant(node, node.inputs[1], 'weight');
  const B = ctx.optConst(node, 2, 'bias');
  if (x.shape.length !== 3 || W.dims.length !== 4)
    ctx.fail(node, `only 2-D transposed convolution of C×H×W is supported (input ${x.shape.join('×')}, weight [${W.dims}])`);
  const group = a.int('group', 1);
  if (W.dims[0] !== x.shape[0]) ctx.fail(node, `weight [${W.dims}] does not fit ${x.shape[0]} input channels`);
  const numOutput = W.dims[1] * group;
  const kernel = a.ints('kernel_shape') ?? W.dims.slice(2);
  const stride = a.ints('strides') ?? [1, 1];
  const dilation = a.ints('dilations') ?? [1, 1];
  const outPad = a.ints('output_padding') ?? [0, 0];
  const outShape = a.ints('output_shape');
  const auto = a.string('auto_pad', 'NOTSET');
  let begin: number[], end: number[];
  if (outShape || auto === 'SAME_UPPER' || auto === 'SAME_LOWER') {
    const target = outShape ? outShape.slice(-2) : x.shape.slice(1).map((n, i) => n * stride[i]);
    begin = [];
    end = [];
    for (let i = 0; i < 2; i++) {
      const total = stride[i] * (x.shape[1 + i] - 1) + outPad[i] + dilation[i] * (kernel[i] - 1) + 1 - target[i];
      const half = Math.floor(total / 2);
      begin.push(auto === 'SAME_UPPER' ? half : total - half);
      end.push(auto === 'SAME_UPPER' ? total - half : half);
    }
  } else if (auto === 'VALID') {
    begin = [0, 0];
    end = [0, 0];
  } else {
    const pads = a.ints('pads') ?? [0, 0, 0, 0];
    if (pads.length !== 4) ctx.fail(node, `pads has ${pads.length} values, expected 4`);
    begin = pads.slice(0, 2);
    end = pads.slice(2);
  }
  if (B && numel(B.dims) !== numOutput) ctx.fail(node, `bias has ${numel(B.dims)} values, expected ${numOutput}`);
  const params = [Ctx.param(W.dims, ctx.floats(W))];
  if (B) params.push(Ctx.param([numOutput], ctx.floats(B)));
  ctx.emit(
    {
      kind: 'convtranspose',
      name,
      bottoms: [x.blob],
      tops: [node.outputs[0]],
      numOutput,
      kernel: pair(kernel),
      stride: pair(stride),
      dilation: pair(dilation),
      padBegin: pair(begin),
      padEnd: pair(end),
      outputPadding: pair(outPad),
      group,
      biasTerm: Boolean(B),
    },
    params,
  );
};

function checkSingleOutput(ctx: Ctx, node: NodeProto, what: string): void {
  if (node.outputs.slice(1).some(Boolean)) ctx.fail(node, `the ${what} output is not supported`);
}

export const pool =
  (method: 'max' | 'ave'): Converter =>
  (ctx, node, a, name) => {
    const x = ctx.value(node, node.inputs[0]);
    checkSingleOutput(ctx, node, 'Indices');
    const kernel = a.ints('kernel_shape') ?? ctx.fail(node, 'kernel_shape is required');
    const sp = kernel.length;
    if (x.shape.length !== sp + 1 || (sp !== 1 && sp !== 2))
      ctx.fail(node, `${sp}-D pooling of a ${x.shape.join('×')} tensor is not supported (1-D or 2-D only)`);
    if (a.int('storage_order', 0) !== 0) ctx.fail(node, 'storage_order 1 is not supported');
    const stride = a.ints('strides') ?? new Array(sp).fill(1);
    const dilation = a.ints('dilations') ?? new Array(sp).fill(1);
    const [begin, end] = spatialPads(ctx, node, a, x.shape.slice(1), kernel, stride, dilation);
    ctx.emit({
      kind: 'pooling',
      name,
      bottoms: [x.blob],
      tops: [node.outputs[0]],
      method,
      kernel,
      stride,
      dilation,
      padBegin: begin,
      padEnd: end,
      ceil: a.int('ceil_mode', 0) === 1,
      countIncludePad: a.int('count_include_pad', 0) === 1,
    });
  };

export const globalPool =
  (method: 'max' | 'ave'): Converter =>
  (ctx, node, _a, name) => {
    const x = ctx.value(node, node.inputs[0]);
    if (x.shape.length === 3) {
      ctx.emit({
        kind: 'pool',
        name,
        bottoms: [x.blob],
        tops: [node.outputs[0]],
        method,
        kernel: [x.shape[1], x.shape[2]],
        stride: [1, 1],
        pad: [0, 0],
        global: true,
      });
      return;
    }
    if (x.shape.length < 2) ctx.fail(node, `needs spatial axes, got ${x.shape.join('×')}`);
    const axes = x.shape.slice(1).map((_, i) => i + 1);
    ctx.emit({ kind: 'reduce', name, bottoms: [x.blob], tops: [node.outputs[0]], op: method === 'max' ? 'max' : 'mean', axes, keepDims: true });
  };

/** Gemm: Y = alpha·A·B' + beta·C with A the image data ([N, K]) and B, C constants → fc. */
export const gemm: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  if (!isFront(x.at)) return gemmRows(ctx, node, a, name, x);
  if (a.int('transA', 0)) ctx.fail(node, 'transA = 1 takes the batch from axis 1 (deepvis needs it on axis 0)');
  if (x.shape.length !== 1) ctx.fail(node, `input must be [N, K], got per-image ${x.shape.join('×')}`);
  const B = ctx.constant(node, node.inputs[1], 'B');
  const C = ctx.optConst(node, 2, 'C');
  const alpha = a.float('alpha', 1),
    beta = a.float('beta', 1);
  if (B.dims.length !== 2) ctx.fail(node, `B must be 2-D, got [${B.dims}]`);
  const transB = a.int('transB', 0) === 1;
  const [K, M] = transB ? [B.dims[1], B.dims[0]] : B.dims;
  if (K !== x.shape[0]) ctx.fail(node, `B [${B.dims}] does not fit ${x.shape[0]} inputs`);
  const b = ctx.floats(B);
  const w = new Float32Array(M * K);
  for (let o = 0; o < M; o++) for (let k = 0; k < K; k++) w[o * K + k] = alpha * (transB ? b[o * K + k] : b[k * M + o]);
  const params = [Ctx.param([M, K], w)];
  if (C) {
    const cs = ctx.alignConst(node, C, 1);
    if (cs[0] !== 1 && cs[0] !== M) ctx.fail(node, `C [${C.dims}] does not broadcast to ${M} outputs`);
    const c = ctx.floats(C);
    params.push(
      Ctx.param(
        [M],
        Float32Array.from({ length: M }, (_, i) => beta * c[cs[0] === 1 ? 0 : i]),
      ),
    );
  }
  ctx.emit({ kind: 'fc', name, bottoms: [x.blob], tops: [node.outputs[0]], numOutput: M, biasTerm: Boolean(C) }, params);
};

/**
 * Gemm on a [R, K] tensor whose rows hold the batch merged with other values (torchvision's
 * attention projects [T·N, C]): each row is multiplied alone, a matmul over the last axis.
 */
function gemmRows(ctx: Ctx, node: NodeProto, a: Attrs, name: string, x: Value): void {
  if (a.int('transA', 0) || x.at?.axis !== 0 || x.shape.length !== 2)
    ctx.fail(node, 'A holds the batch on an axis Gemm would mix (only [rows, K] with the batch among the rows is supported)');
  const B = ctx.constant(node, node.inputs[1], 'B');
  const C = ctx.optConst(node, 2, 'C');
  if (B.dims.length !== 2) ctx.fail(node, `B must be 2-D, got [${B.dims}]`);
  const transB = a.int('transB', 0) === 1;
  const [K, M] = transB ? [B.dims[1], B.dims[0]] : B.dims;
  if (K !== x.shape[1]) ctx.fail(node, `B [${B.dims}] does not fit ${x.shape[1]} inputs`);
  const alpha = a.float('alpha', 1),
    beta = a.float('beta', 1);
  const b = ctx.floats(B);
  const w = new Float32Array(K * M);
  for (let k = 0; k < K; k++) for (let o = 0; o < M; o++) w[k * M + o] = alpha * (transB ? b[o * K + k] : b[k * M + o]);
  const params = [Ctx.param([1, K, M], w)];
  if (C) {
    if (numel(C.dims) !== 1 && numel(C.dims) !== M) ctx.fail(node, `C [${C.dims}] must be one value per output (${M})`);
    const c = ctx.floats(C);
    params.push(
      Ctx.param(
        [M],
        Float32Array.from({ length: M }, (_, i) => beta * c[c.length === 1 ? 0 : i]),
      ),
    );
  }
  ctx.emit({ kind: 'matmul', name, bottoms: [x.blob], tops: [node.outputs[0]], weightShape: [K, M], biasTerm: Boolean(C) }, params, x.at);
}

/** MatMul of two image tensors (attention: Q·Kᵀ, A·V): a product over their last two axes. */
function matmulData(ctx: Ctx, node: NodeProto, name: string): void {
  const x = ctx.anyValue(node, node.inputs[0]),
    y = ctx.anyValue(node, node.inputs[1]);
  const r = ctx.dims(x).length;
  if (ctx.dims(y).length !== r || r < 3)
    ctx.fail(node, `operands of ${r} and ${ctx.dims(y).length} axes (two image tensors need equal ranks ≥ 3, the batch among the leading axes)`);
  if (!sameAt(x.at, y.at)) ctx.fail(node, 'the operands hold the batch on different axes');
  for (const ax of [r - 2, r - 1]) ctx.axisOf(node, x, ax);
  ctx.emit({ kind: 'batchmatmul', name, bottoms: [x.blob, y.blob], tops: [node.outputs[0]] }, undefined, x.at);
}

/** MatMul with a constant right operand: fc for [N, K] inputs, else matmul over the last axis; of two image tensors: batchmatmul. */
export const matmul: Converter = (ctx, node, _a, name) => {
  if (!ctx.isConst(node.inputs[1])) return matmulData(ctx, node, name);
  const x = ctx.anyValue(node, node.inputs[0]);
  if (!isFront(x.at)) {
    // The batch elsewhere: one weight matrix over the last axis, which must not hold the batch.
    const r = ctx.dims(x).length;
    ctx.axisOf(node, x, r - 1);
    const B = ctx.constant(node, node.inputs[1], 'right operand');
    if (B.dims.length !== 2 || x.shape.length < 2) ctx.fail(node, `right operand [${B.dims}]: only a 2-D weight is supported when the batch is not on axis 0`);
    const [K, M] = B.dims;
    if (x.shape[x.shape.length - 1] !== K) ctx.fail(node, `inner sizes differ: input [${ctx.dims(x)}] by [${B.dims}]`);
    const ws = [...new Array(x.shape.length - 2).fill(1), K, M];
    ctx.emit(
      { kind: 'matmul', name, bottoms: [x.blob], tops: [node.outputs[0]], weightShape: ws, biasTerm: false },
      [Ctx.param([1, ...ws], ctx.floats(B))],
      x.at,
    );
    return;
  }
  const B = ctx.constant(node, node.inputs[1], 'right operand');
  if (B.dims.length < 2) ctx.fail(node, `a 1-D right operand [${B.dims}] is not supported`);
  const [K, M] = B.dims.slice(-2);
  const xk = x.shape[x.shape.length - 1];
  if (xk !== K) ctx.fail(node, `inner sizes differ: input ${x.shape.join('×')} by [${B.dims}]`);
  const b = ctx.floats(B);
  if (x.shape.length === 1) {
    if (B.dims.length !== 2) ctx.fail(node, `right operand [${B.dims}] must be 2-D for a [N, K] input`);
    const w = new Float32Array(M * K);
    for (let o = 0; o < M; o++) for (let k = 0; k < K; k++) w[o * K + k] = b[k * M + o];
    ctx.emit({ kind: 'fc', name, bottoms: [x.blob], tops: [node.outputs[0]], numOutput: M, biasTerm: false }, [Ctx.param([M, K], w)]);
    return;
  }
  const ws = B.dims.length === 2 ? [...new Array(x.shape.length - 2).fill(1), K, M] : ctx.alignConst(node, B, x.shape.length);
  ctx.emit({ kind: 'matmul', name, bottoms: [x.blob], tops: [node.outputs[0]], weightShape: ws, biasTerm: false }, [Ctx.param([1, ...ws], b)]);
};

/** Inference BatchNormalization folded into a per-channel scale and bias. */
export const batchNorm: Converter = (ctx, node, a, name) => {
  const x = ctx.value(node, node.inputs[0]);
  if (a.int('training_mode', 0)) ctx.fail(node, 'training_mode = 1 is not supported (inference only)');
  checkSingleOutput(ctx, node, 'running mean/variance');
  const [s, b, m, v] = [1, 2, 3, 4].map((i) => ctx.floats(ctx.constant(node, node.inputs[i], ['scale', 'bias', 'mean', 'var'][i - 1])));
  const C = x.shape[0];
  if ([s, b, m, v].some((t) => t.length !== C)) ctx.fail(node, `scale, bias, mean and var must have ${C} values`);
  const eps = a.float('epsilon', 1e-5);
  const scale = new Float32Array(C),
    bias = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    scale[c] = s[c] / Math.sqrt(v[c] + eps);
    bias[c] = b[c] - m[c] * scale[c];
  }
  ctx.emit({ kind: 'scale', name, bottoms: [x.blob], tops: [node.outputs[0]], biasTerm: true }, [Ctx.param([C], scale), Ctx.param([C], bias)]);
};

export const instanceNorm: Converter = (ctx, node, a, name) => {
  const x = ctx.value(node, node.inputs[0]);
  const [s, b] = [1, 2].map((i) => ctx.floats(ctx.constant(node, node.inputs[i], i === 1 ? 'scale' : 'bias')));
  const C = x.shape[0];
  if (s.length !== C || b.length !== C) ctx.fail(node, `scale and bias must have ${C} values`);
  ctx.emit({ kind: 'instancenorm', name, bottoms: [x.blob], tops: [node.outputs[0]], eps: a.float('epsilon', 1e-5) }, [Ctx.param([C], s), Ctx.param([C], b)]);
};

export const lrn: Converter = (ctx, node, a, name) => {
  const x = ctx.value(node, node.inputs[0]);
  const size = a.int('size', 0);
  if (size % 2 !== 1) ctx.fail(node, `size ${size}: only odd sizes are supported`);
  if (x.shape.length !== 3) ctx.fail(node, `needs a C×H×W input, got ${x.shape.join('×')}`);
  const layer: Layer = {
    kind: 'lrn',
    name,
    bottoms: [x.blob],
    tops: [node.outputs[0]],
    localSize: size,
    alpha: a.float('alpha', 1e-4),
    beta: a.float('beta', 0.75),
    k: a.float('bias', 1),
  };
  ctx.emit(layer);
};

/** Softmax / LogSoftmax: opset < 13 flattens from `axis` (default 1) on; opset ≥ 13 one axis (default −1). */
export const softmax =
  (log: boolean): Converter =>
  (ctx, node, a, name) => {
    const x = ctx.anyValue(node, node.inputs[0]);
    const r = x.shape.length;
    let axes: number[];
    if (!isFront(x.at)) {
      if (ctx.opset < 13) ctx.fail(node, 'a flattening softmax (opset < 13) of a tensor whose batch is not on axis 0');
      const axis = ctx.axisOf(node, x, a.int('axis', -1));
      ctx.emit({ kind: 'softmaxnd', name, bottoms: [x.blob], tops: [node.outputs[0]], axes: [axis], log }, undefined, x.at);
      return;
    }
    if (ctx.opset < 13) {
      const from = ctx.imageAxis(node, a.int('axis', 1), r);
      axes = Array.from({ length: r - from }, (_, i) => from + i);
    } else axes = [ctx.imageAxis(node, a.int('axis', -1), r)];
    if (!log && axes.length === 1 && axes[0] === 0) {
      ctx.emit({ kind: 'softmax', name, bottoms: [x.blob], tops: [node.outputs[0]] });
      return;
    }
    ctx.emit({ kind: 'softmaxnd', name, bottoms: [x.blob], tops: [node.outputs[0]], axes, log });
  };
