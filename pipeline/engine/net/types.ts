import type * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../../graph/types.ts';

/**
 * How gradients flow backwards through ReLUs and the rectifying activations of today's networks
 * (GELU, HardSwish, SiLU/swish, ELU, SELU, softplus: tensor-ops.ts RECTIFIERS), and only there:
 * - `backprop`: the true gradient (activation maximisation, plain saliency);
 * - `deconv`:   Zeiler & Fergus deconvnet: pass only positive gradient, ignore the forward mask;
 * - `guided`:   guided backpropagation: both the forward mask and positive gradient.
 * Max-pooling always routes gradients through the forward pass's switches.
 */
export type GradMode = 'backprop' | 'deconv' | 'guided';

export interface ForwardOptions {
  gradMode?: GradMode;
  /**
   * Only these channels (last axis) of the named blobs are returned, in the order given (repeats
   * allowed). Where the blob is a Convolution/InnerProduct output followed only by per-channel
   * layers (ReLU, pooling, Dropout), only those channels are computed — e.g. SqueezeNet's pool10
   * for a few class units skips almost all of conv10, forward and backward.
   */
  channels?: Record<string, number[]>;
  /**
   * Tensors added to named blobs where they are computed (each the blob's shape, batch first), so
   * that the gradient with respect to an offset is the gradient with respect to that blob: a
   * zero offset is how a caller differentiates an output by an intermediate blob (circuits).
   * Not combined with `channels` on the same blob.
   */
  offsets?: Record<string, tf.Tensor>;
}

/**
 * A network ready to run on the current TensorFlow.js backend. Tensors are NHWC (tfjs layout);
 * fully connected blobs are [N, C]. The input is already preprocessed (channel order, mean).
 */
export interface Net {
  readonly model: Model;
  /**
   * Runs the graph up to the named blobs (in one pass, sharing work) and returns them.
   * Differentiable with respect to `input`: safe inside tf.grad / tf.valueAndGrad / tf.tidy.
   * Caller disposes the returned tensors (or runs inside tf.tidy).
   */
  forward(input: tf.Tensor4D, blobs: string[], opts?: ForwardOptions): Record<string, tf.Tensor>;
  /**
   * Optional: what a scan keeps of a forward pass, computed where the graph runs (ONNX Runtime), so
   * that only the reductions leave it. Without it the scan reduces the blobs `forward` returns.
   */
  scanReduce?(input: tf.Tensor4D, req: ScanReduceRequest): ScanReduction;
  dispose(): void;
}

export interface ScanReduceRequest {
  /** Tracked blobs. */
  blobs: string[];
  /** The class-probability blob, or null. */
  probBlob: string | null;
  /** Tracked blobs whose units are correlated with the classes (their maxima, in this order). */
  corrBlobs: string[];
}

export interface ScanReduction {
  /** Per tracked blob: [N × units] maxima over positions (fc blobs: the values). */
  values: Float32Array[];
  /** Per tracked blob: the first position (y·W + x) of each maximum, null for fc blobs. */
  positions: (Int32Array | null)[];
  /** [N × classes], or null without a class blob. */
  probs: Float32Array | null;
  /** Σ over the batch of a_u·p_c: [corr units × classes], or null. */
  cross: Float32Array | null;
}
