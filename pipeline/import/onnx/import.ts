import { UserError } from '../../core/errors.ts';
import { inferShapes } from '../../graph/shapes.ts';
import type { Graph } from '../../graph/types.ts';
import { isFront } from './batch-axis.ts';
import { Attrs, Ctx } from './context.ts';
import { canFold, fold } from './fold.ts';
import { activation, binary, clip, mean, relu } from './ops-elementwise.ts';
import { expand, gelu, layerNorm, resize } from './ops-modern.ts';
import { batchNorm, conv, convTranspose, gemm, globalPool, instanceNorm, lrn, matmul, pool, softmax, type Converter } from './ops-nn.ts';
import { cast, concat, flatten, gather, identity, pad, reduce, reshape, slice, split, squeeze, transpose, unsqueeze } from './ops-tensor.ts';
import { DataType, type ModelProto } from './proto.ts';
import { decodeTensor, FLOAT_TYPES, typeName } from './tensor.ts';

/**
 * An ONNX model → Graph. Axis 0 of every ONNX tensor is the batch; the graph's blobs are the
 * per-image rest (NCHW semantics, as for Caffe). Every named tensor computed from the image is a
 * blob named as in the ONNX file; constants (initializers, Constant nodes and subgraphs of
 * constants) are folded into layer parameters. Operators that would mix images of a batch, and
 * operators deepvis does not know, are UserErrors naming the node and operator.
 */

const CONVERTERS: Record<string, Converter> = {
  Conv: conv,
  ConvTranspose: convTranspose,
  MaxPool: pool('max'),
  AveragePool: pool('ave'),
  GlobalMaxPool: globalPool('max'),
  GlobalAveragePool: globalPool('ave'),
  Gemm: gemm,
  MatMul: matmul,
  BatchNormalization: batchNorm,
  InstanceNormalization: instanceNorm,
  LRN: lrn,
  LayerNormalization: layerNorm,
  Resize: resize,
  Upsample: resize,
  Expand: expand,
  Gelu: gelu,
  HardSwish: activation('hardswish'),
  Softmax: softmax(false),
  LogSoftmax: softmax(true),
  Relu: relu,
  LeakyRelu: relu,
  PRelu: binary,
  Clip: clip,
  Sigmoid: activation('sigmoid'),
  Tanh: activation('tanh'),
  Elu: activation('elu'),
  Selu: activation('selu'),
  Softplus: activation('softplus'),
  Softsign: activation('softsign'),
  HardSigmoid: activation('hardsigmoid'),
  Exp: activation('exp'),
  Log: activation('log'),
  Abs: activation('abs'),
  Neg: activation('neg'),
  Sqrt: activation('sqrt'),
  Reciprocal: activation('reciprocal'),
  Floor: activation('floor'),
  Ceil: activation('ceil'),
  Erf: activation('erf'),
  Add: binary,
  Sub: binary,
  Mul: binary,
  Div: binary,
  Pow: binary,
  Max: binary,
  Min: binary,
  Sum: binary,
  Mean: mean,
  Reshape: reshape,
  Flatten: flatten,
  Transpose: transpose,
  Squeeze: squeeze,
  Unsqueeze: unsqueeze,
  Concat: concat,
  Gather: gather,
  Pad: pad,
  Slice: slice,
  Split: split,
  ReduceMean: reduce('mean'),
  ReduceMax: reduce('max'),
  ReduceMin: reduce('min'),
  ReduceSum: reduce('sum'),
  ReduceL2: reduce('l2'),
  Identity: identity,
  Dropout: identity,
  Cast: cast,
  CastLike: cast,
};

export const SUPPORTED_OPS: readonly string[] = Object.keys(CONVERTERS).sort();

export interface OnnxImportOptions {
  /** Names the model in errors. */
  file: string;
  /** Folder that external data paths are relative to. */
  baseDir?: string;
  /** Per-image input size [C, H, W] for inputs whose dimensions are symbolic. */
  inputShape?: number[];
  /** Accept inputs that are not images (any rank ≥ 1): used by the operator conformance tests. */
  anyInput?: boolean;
}

export interface OnnxImport {
  graph: Graph;
  /** ONNX graph output names (blobs). */
  outputs: string[];
  metadata: Map<string, string>;
}

export function importOnnx(model: ModelProto, opts: OnnxImportOptions): OnnxImport {
  const { file } = opts;
  const g = model.graph;
  for (const [domain, v] of model.opsets)
    if (domain !== '' && domain !== 'ai.onnx.ml' && g.nodes.some((n) => n.domain === domain)) {
      const n = g.nodes.find((m) => m.domain === domain)!;
      throw new UserError(`${file}: node "${n.name || n.outputs[0]}" (${domain}.${n.opType}, opset ${v}): operators of custom domains are not supported`);
    }
  const opset = model.opsets.get('') ?? 1;
  const initNames = new Set(g.initializers.map((t) => t.name));
  const dataInputs = g.inputs.filter((i) => !initNames.has(i.name));
  if (dataInputs.length !== 1) {
    throw new UserError(
      `${file}: the model has ${dataInputs.length} non-constant inputs (${dataInputs.map((i) => i.name).join(', ') || 'none'}); deepvis needs exactly one image input`,
    );
  }
  const inp = dataInputs[0];
  if (inp.elemType === undefined) throw new UserError(`${file}: input "${inp.name}" is not a tensor (sequence, map and optional inputs are not supported)`);
  if (!FLOAT_TYPES.has(inp.elemType)) {
    throw new UserError(`${file}: input "${inp.name}" has element type ${typeName(inp.elemType)}; deepvis needs a float input`);
  }
  const dims = inp.shape ?? [];
  if (dims.length < 2 && !(opts.anyInput && dims.length >= 1)) {
    throw new UserError(`${file}: input "${inp.name}" must be N×C×H×W (batch first), got ${dims.length} axes`);
  }
  // A symbolic batch is imported as 2: shape arithmetic then shows where the batch goes when an
  // exporter moves it (attention's [T, N, C] views); 1 would leave that ambiguous.
  const batch = dims[0]?.value && dims[0].value > 0 ? dims[0].value : 2;
  // A channels-last image input (tf2onnx's N×H×W×C): every reader transposes it to N×C×H×W.
  const readers = g.nodes.filter((n) => n.inputs.includes(inp.name));
  const nhwc =
    dims.length === 4 &&
    readers.length > 0 &&
    readers.every((n) => {
      const perm = n.attrs.get('perm');
      return n.opType === 'Transpose' && perm?.type === 'ints' && perm.ints.join() === '0,3,1,2';
    });
  const perImage = dims.slice(1).map((d, i) => {
    if (d.value && d.value > 0) return d.value;
    const given = opts.inputShape?.[nhwc ? [1, 2, 0][i] : i];
    if (given) return given;
    throw new UserError(
      `${file}: input "${inp.name}" axis ${i + 1} is symbolic ("${d.param ?? '?'}"); give the input size (--input-size C,H,W or deepvis.json "inputShape")`,
    );
  });
  if (!opts.anyInput && perImage.length !== 3) {
    throw new UserError(`${file}: input "${inp.name}" is [${dims.map((d) => d.value ?? d.param).join(', ')}]; deepvis needs an image input N×C×H×W`);
  }
  const ctx = new Ctx(file, opset, batch);
  for (const t of g.initializers) ctx.consts.set(t.name, decodeTensor(t, file, opts.baseDir));
  if (nhwc) {
    // tf2onnx keeps TensorFlow's N×H×W×C input and transposes it: the network's input blob is
    // C×H×W as everywhere in deepvis, the ONNX input a channels-last view of it.
    const [h, w, c] = perImage;
    ctx.emitInput(inp.name, [c, h, w]);
    const view = ctx.internalBlob(`${inp.name}/nhwc`);
    ctx.emit({ kind: 'reshape', name: ctx.layerName(view), bottoms: [inp.name], tops: [view], pre: [1, 2, 0], shape: [h, w, c] });
    ctx.alias(inp.name, { blob: view, shape: [h, w, c] });
  } else ctx.emitInput(inp.name, perImage);

  for (const n of g.nodes) for (const x of n.inputs) if (x) ctx.readers.set(x, (ctx.readers.get(x) ?? 0) + 1);
  for (const o of g.outputs) ctx.readers.set(o.name, (ctx.readers.get(o.name) ?? 0) + 1);
  g.nodes.forEach((node, i) => {
    if (node.domain && node.domain !== 'ai.onnx') ctx.fail(node, `operator of domain "${node.domain}" is not supported`);
    if (canFold(ctx, node)) return fold(ctx, node);
    const convert = CONVERTERS[node.opType];
    if (!convert) ctx.fail(node, 'operator not supported (docs/import-onnx-tfjs.md lists the supported ones)');
    convert(ctx, node, new Attrs(ctx, node), ctx.layerName(node.name || `${node.opType}_${i}`));
    for (const o of node.outputs) if (o && !ctx.values.has(o)) ctx.fail(node, `internal: output "${o}" not produced`);
  });

  // Outputs that are constants (e.g. an exported shape) are not blobs; at least one must depend on the image.
  const outputs = g.outputs.map((o) => o.name).filter((o) => !(ctx.consts.has(o) && !ctx.values.has(o)));
  if (!outputs.length && g.outputs.length) throw new UserError(`${file}: output "${g.outputs[0].name}" is a constant (it does not depend on the input image)`);
  for (const o of outputs) {
    const v = ctx.values.get(o);
    if (!v) throw new UserError(`${file}: output "${o}" is not produced by any node`);
    if (!isFront(v.at))
      throw new UserError(`${file}: output "${o}" has the batch on axis ${v.at!.axis}, not on the batch axis 0 (deepvis returns per-image outputs)`);
  }
  ctx.addTokenViews();
  const { input, blobs } = inferShapes(ctx.layers, file);
  const graph: Graph = { name: g.name || 'onnx', layers: ctx.layers, input, blobs, weights: ctx.weights };
  return { graph, outputs, metadata: model.metadata };
}

export { DataType };
