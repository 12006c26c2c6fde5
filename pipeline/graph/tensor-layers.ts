/**
 * Layer kinds beyond Caffe's, for models imported from ONNX and TensorFlow.js. They join the
 * `Layer` union of types.ts. Shape inference: graph/shapes-extra.ts; execution: net/ops-extra.ts.
 *
 * Conventions (as for every blob): shapes are per image, N omitted, in NCHW semantics — axis 0 of
 * a blob is its channel axis, then the spatial axes. Axes below count over that per-image shape
 * (0 = channels), never the batch: an operation that would mix images of a batch is refused at
 * import. A blob of per-image shape [C, d1, …, dk] is held as a tfjs tensor [N, d1, …, dk, C]
 * (channels last: NHWC for C×H×W, [N, C] for [C], [N] for a per-image scalar []).
 *
 * Parameters (graph.weights, by layer name) are ParamBlobs in the layouts named on each kind.
 */

interface Base {
  name: string;
  bottoms: string[];
  tops: string[];
}

/** Explicit padding, [before…, after…] per axis (negative crops). Mode as ONNX Pad. */
export interface PadLayer extends Base {
  kind: 'pad';
  /** 2·rank entries: begin of every axis, then end of every axis (axis 0 = channels). */
  pads: number[];
  mode: 'constant' | 'reflect' | 'edge';
  value: number;
}

/**
 * Pooling over the spatial axes (1-D or 2-D) with ONNX/TensorFlow semantics: begin/end pads,
 * floor or ceil output size (ceil: a window must start inside the input or its begin pad),
 * dilations; for averages, padding counts in the divisor only with `countIncludePad`.
 */
export interface PoolingLayer extends Base {
  kind: 'pooling';
  method: 'max' | 'ave';
  kernel: number[];
  stride: number[];
  dilation: number[];
  padBegin: number[];
  padEnd: number[];
  ceil: boolean;
  countIncludePad: boolean;
}

/**
 * Transposed convolution (ONNX ConvTranspose): output size per axis
 * (in−1)·s + outputPadding + d(k−1)+1 − padBegin − padEnd. Parameters: weight
 * [inChannels, numOutput/group, kh, kw] (ONNX layout), optional bias [numOutput].
 */
export interface ConvTransposeLayer extends Base {
  kind: 'convtranspose';
  numOutput: number;
  kernel: [number, number];
  stride: [number, number];
  dilation: [number, number];
  padBegin: [number, number];
  padEnd: [number, number];
  outputPadding: [number, number];
  group: number;
  biasTerm: boolean;
}

export type ActivationFn =
  | 'sigmoid'
  | 'tanh'
  | 'elu'
  | 'selu'
  | 'softplus'
  | 'softsign'
  | 'hardsigmoid'
  | 'exp'
  | 'log'
  | 'abs'
  | 'neg'
  | 'sqrt'
  | 'reciprocal'
  | 'floor'
  | 'ceil'
  | 'erf'
  | 'gelu'
  | 'gelutanh'
  | 'hardswish'
  | 'swish';

/**
 * Elementwise function. elu: alpha; selu: alpha, gamma; hardsigmoid: max(0, min(1, alpha·x + beta));
 * hardswish: x·max(0, min(1, x/6 + 1/2)); gelu: x·Φ(x) (erf); gelutanh: GELU's tanh approximation.
 */
export interface ActivationLayer extends Base {
  kind: 'activation';
  fn: ActivationFn;
  alpha: number;
  beta: number;
  gamma: number;
}

/** min(max(x, min), max). */
export interface ClipLayer extends Base {
  kind: 'clip';
  min: number;
  max: number;
}

export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min' | 'prelu';

/**
 * A binary elementwise op with numpy broadcasting over per-image shapes of equal rank. Operands:
 * two bottoms, or one bottom and a constant (parameter 0, shape [1, …constShape], NCHW order),
 * `constant` says on which side. prelu: x < 0 ? slope·x : x, slope = the second operand.
 */
export interface BinaryLayer extends Base {
  kind: 'binary';
  op: BinaryOp;
  constant: 'none' | 'first' | 'second';
  /** Per-image shape of the constant operand, same rank as the other operand (1 = broadcast). */
  constShape?: number[];
}

/**
 * y = x · W (+ bias) over the LAST axis of x (numpy matmul; x of rank ≥ 2 per image; use `fc` for
 * [C] inputs). Parameter 0: W of shape [1, …weightShape] (NCHW order); optional bias [M].
 */
export interface MatMulLayer extends Base {
  kind: 'matmul';
  /** Per-image shape of W: [..., K, M], rank equal to x's (leading 1s broadcast). */
  weightShape: number[];
  biasTerm: boolean;
}

/**
 * y = reshape(transpose(x, pre), shape), then transpose(…, post), in NCHW semantics
 * (row-major over the per-image shape). Covers Reshape, Flatten (any layout), Transpose,
 * Squeeze/Unsqueeze and Keras' channels-last Flatten/Reshape/Permute.
 */
export interface ReshapeLayer extends Base {
  kind: 'reshape';
  pre?: number[];
  shape: number[];
  post?: number[];
}

/** Softmax (or log-softmax) jointly over the given per-image axes. */
export interface SoftmaxNdLayer extends Base {
  kind: 'softmaxnd';
  axes: number[];
  log: boolean;
}

/** Concatenation along any per-image axis (0 = channels). */
export interface ConcatNdLayer extends Base {
  kind: 'concatnd';
  axis: number;
}

/** A constant blob (no bottoms). Parameter 0: its value, shape [1, …shape]. */
export interface ConstLayer extends Base {
  kind: 'const';
  shape: number[];
}

/** Reduction over per-image axes. */
export interface ReduceLayer extends Base {
  kind: 'reduce';
  op: 'mean' | 'max' | 'min' | 'sum' | 'l2';
  axes: number[];
  keepDims: boolean;
}

/** Instance normalisation per channel: (x − mean_HW)/sqrt(var_HW + eps) · scale + bias; parameters scale [C], bias [C]. */
export interface InstanceNormLayer extends Base {
  kind: 'instancenorm';
  eps: number;
}

/**
 * Layer normalisation over per-image axes (ONNX LayerNormalization: the trailing ones from its
 * `axis`; Keras LayerNormalization on channels: axis 0): (x − mean)/sqrt(var + eps) · scale
 * (+ bias). Parameters: scale and bias, of the blob's shape with 1 on the other axes.
 */
export interface LayerNormLayer extends Base {
  kind: 'layernorm';
  /** Normalised per-image axes (0 = channels). */
  axes: number[];
  eps: number;
  biasTerm: boolean;
}

/** How an output coordinate maps to an input coordinate (ONNX Resize's coordinate_transformation_mode). */
export type ResizeCoordinates = 'half_pixel' | 'pytorch_half_pixel' | 'align_corners' | 'asymmetric' | 'tf_half_pixel_for_nn' | 'half_pixel_symmetric';

/**
 * Resizing along per-image axes by interpolation (ONNX Resize, Upsample): each resized axis is a
 * fixed linear map from input to output positions (nearest or linear weights), computed from the
 * sizes, the scales and the coordinate rules.
 */
export interface ResizeLayer extends Base {
  kind: 'resize';
  mode: 'nearest' | 'linear';
  coordinates: ResizeCoordinates;
  nearest: 'round_prefer_floor' | 'round_prefer_ceil' | 'floor' | 'ceil';
  /** Resized per-image axes. */
  axes: number[];
  /** Output size of each resized axis. */
  sizes: number[];
  /** Scale of each resized axis (output/input, as the model gives it: it sets the coordinate map). */
  scales: number[];
}

/**
 * y = a · b of two blobs over their last two per-image axes (numpy matmul; attention's Q·Kᵀ and
 * A·V), the leading axes broadcast.
 */
export interface BatchMatMulLayer extends Base {
  kind: 'batchmatmul';
}

/**
 * The patch-grid view of a token blob [T, C] (or [C, T]): the C channels over the gh×gw grid of
 * tokens first … first + gh·gw − 1 (the class token left out), a C×gh×gw blob whose units are
 * what a gallery shows for a transformer layer.
 */
export interface TokenGridLayer extends Base {
  kind: 'tokengrid';
  axis: number;
  first: number;
  grid: [number, number];
}

export type TensorLayer =
  | PadLayer
  | TokenGridLayer
  | BatchMatMulLayer
  | LayerNormLayer
  | ResizeLayer
  | PoolingLayer
  | ConvTransposeLayer
  | ActivationLayer
  | ClipLayer
  | BinaryLayer
  | MatMulLayer
  | ReshapeLayer
  | SoftmaxNdLayer
  | ConcatNdLayer
  | ConstLayer
  | ReduceLayer
  | InstanceNormLayer;

export type TensorKind = TensorLayer['kind'];

export const TENSOR_KINDS: ReadonlySet<string> = new Set<TensorKind>([
  'pad',
  'pooling',
  'convtranspose',
  'activation',
  'clip',
  'binary',
  'matmul',
  'reshape',
  'softmaxnd',
  'concatnd',
  'const',
  'reduce',
  'instancenorm',
  'layernorm',
  'resize',
  'batchmatmul',
  'tokengrid',
]);

export function isTensorLayer(l: { kind: string }): l is TensorLayer {
  return TENSOR_KINDS.has(l.kind);
}
