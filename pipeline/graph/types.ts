/**
 * The format-independent description of a network, produced by every importer (Caffe, later ONNX
 * and TF.js) and consumed by the rest of the pipeline. Shapes are Caffe's: C×H×W per image
 * (N omitted); fully connected outputs are [C] (C×1×1 is normalised to [C]).
 */
import type { PreprocessSpec } from './preprocess.ts';

import type { TensorLayer } from './tensor-layers.ts';

export type Pair = [number, number]; // [h, w]

interface LayerBase {
  /** Layer name as in the model file. */
  name: string;
  /** Blob names read. */
  bottoms: string[];
  /** Blob names written. A layer whose top equals its bottom is in place (e.g. ReLU). */
  tops: string[];
}

export interface InputLayer extends LayerBase {
  kind: 'input';
  shape: [number, number, number];
}
export interface ConvLayer extends LayerBase {
  kind: 'conv';
  numOutput: number;
  kernel: Pair;
  stride: Pair;
  pad: Pair;
  dilation: Pair;
  group: number;
  biasTerm: boolean;
}
export interface FcLayer extends LayerBase {
  kind: 'fc';
  numOutput: number;
  biasTerm: boolean;
}
export interface ReluLayer extends LayerBase {
  kind: 'relu';
  negativeSlope: number;
}
export interface PoolLayer extends LayerBase {
  kind: 'pool';
  method: 'max' | 'ave';
  kernel: Pair;
  stride: Pair;
  pad: Pair;
  global: boolean;
}
/** Local response normalisation across channels: x / (k + alpha/n * Σ x²)^beta. */
export interface LrnLayer extends LayerBase {
  kind: 'lrn';
  localSize: number;
  alpha: number;
  beta: number;
  k: number;
}
export interface ConcatLayer extends LayerBase {
  kind: 'concat';
  axis: number /* Caffe axis: 1 = channels */;
}
export interface IdentityLayer extends LayerBase {
  kind: 'identity' /* Dropout, Split (several tops) */;
}
export interface SoftmaxLayer extends LayerBase {
  kind: 'softmax';
}
export interface FlattenLayer extends LayerBase {
  kind: 'flatten';
}
export interface EltwiseLayer extends LayerBase {
  kind: 'eltwise';
  op: 'sum' | 'prod' | 'max';
  coeffs: number[];
}
/** Per-channel y = x * scale (+ bias). */
export interface ScaleLayer extends LayerBase {
  kind: 'scale';
  biasTerm: boolean;
}
/** Inference batch norm: y = (x - mean/s) / sqrt(var/s + eps), s = the moving-average factor blob. */
export interface BatchNormLayer extends LayerBase {
  kind: 'batchnorm';
  eps: number;
}

export type Layer =
  | InputLayer
  | ConvLayer
  | FcLayer
  | ReluLayer
  | PoolLayer
  | LrnLayer
  | ConcatLayer
  | IdentityLayer
  | SoftmaxLayer
  | FlattenLayer
  | EltwiseLayer
  | ScaleLayer
  | BatchNormLayer
  | TensorLayer; // kinds of ONNX / TF.js models: see types-extra.ts

export type LayerKind = Layer['kind'];

/** A parameter blob in Caffe's layout (conv: [out, in/group, kh, kw]; fc: [out, in]). */
export interface ParamBlob {
  shape: number[];
  data: Float32Array;
}

/** Receptive field of one unit of a blob, in input pixels. Unit (y, x) sees input rows
 *  [offset + y*stride, offset + y*stride + size) (may extend past the image borders). */
export interface ReceptiveField {
  size: Pair;
  stride: Pair;
  offset: Pair;
}

export interface BlobInfo {
  name: string;
  /** C×H×W, or [C] for fully connected outputs. */
  shape: number[];
  /** Kind of the layer that last wrote this blob (after in-place layers). */
  producer: LayerKind;
  /** Name of the layer that first produced the blob (e.g. conv1 for the post-ReLU conv1 blob). */
  layer: string;
  rf: ReceptiveField;
  /**
   * The per-image axes the field's rows and columns run along, when they are not axes 1 and 2 of
   * a C×H×W blob: a channels-last view [H, W, C] (ConvNeXt's blocks) has [0, 1]. Absent for
   * C×H×W blobs and for blobs without a spatial grid.
   */
  grid?: Pair;
  /** A transformer blob's tokens: which axis, and where the patch grid lies along it. */
  tokens?: TokenLayout;
}

/**
 * Tokens along per-image axis `axis`: positions first … first + gh·gw − 1 are the patch grid
 * gh×gw in row-major order (a class token may come before them). `rf` is then a grid token's field.
 */
export interface TokenLayout {
  axis: number;
  first: number;
  grid: Pair;
}

/** What shape inference says of one layer output. */
export type BlobOut = Pick<BlobInfo, 'shape' | 'rf' | 'grid' | 'tokens'>;

/** Writes a layer output onto a blob's record (grid and tokens removed when the output has none). */
export function setBlobOut(b: BlobInfo, o: BlobOut): void {
  b.shape = o.shape;
  b.rf = o.rf;
  if (o.grid) b.grid = o.grid;
  else delete b.grid;
  if (o.tokens) b.tokens = o.tokens;
  else delete b.tokens;
}

export interface Preprocess {
  /** Network input size [h, w]. */
  size: Pair;
  /** Images are resized to this before the centre crop (Caffe reference: 256×256). */
  resize: Pair;
  /** Channel order the network expects. */
  channelOrder: 'BGR' | 'RGB';
  /** Mean subtracted per channel, in the network's channel order, on the 0–255 scale (after `scale` is not applied). */
  mean: [number, number, number];
  /** Per-channel std divisor (1 for Caffe models). */
  std: [number, number, number];
  /** Pixel scale: input = ((pixel * scale) - mean) / std, pixel in 0–255 (Caffe: 1). */
  scale: number;
}

export interface Graph {
  name: string;
  /** Layers in execution order (as listed in the model file). */
  layers: Layer[];
  /** The data input blob. */
  input: { blob: string; shape: [number, number, number] };
  /** Every blob, in order of first appearance, with its final shape and receptive field. */
  blobs: BlobInfo[];
  /** Parameters by layer name. Absent for a prototxt loaded without weights. */
  weights?: Map<string, ParamBlob[]>;
}

/** A loaded model: graph, weights, preprocessing and labels. */
export interface Model {
  /** Short id used in URLs and folder names, e.g. `bvlc_googlenet`. */
  id: string;
  graph: Graph;
  preprocess: Preprocess;
  /** Class labels by output index, when the model folder has them. */
  labels?: Label[];
  /** Where it was loaded from (for messages). */
  source: string;
  /** ONNX / TF.js: the --preprocess value it was loaded with (recorded so the probe re-loads it alike). */
  preprocessSpec?: PreprocessSpec;
  /** The seed of the random weights that filled or replaced the file's (`--random-weights`). */
  randomWeights?: number;
}

export interface Label {
  index: number;
  synset?: string;
  name: string;
}
