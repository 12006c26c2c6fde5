import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/errors.ts';

/**
 * How blobs are held as tfjs tensors: a blob of per-image shape [C, d1, …, dk] (NCHW semantics)
 * is the tensor [N, d1, …, dk, C] (channels last: NHWC for C×H×W, [N, C] for [C], [N] for []).
 * These helpers convert between that layout and plain NCHW order (the batch axis included).
 */

/** The tfjs axis of per-image axis `axis` (0 = channels) of a blob with `rank` per-image axes. */
export function tfAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  return a === 0 ? rank : a;
}

/** tfjs tensor shape of a blob: [N, …] in the channels-last layout. */
export function tfShape(n: number, shape: number[]): number[] {
  return shape.length === 0 ? [n] : [n, ...shape.slice(1), shape[0]];
}

/** Channels-last tensor → NCHW order (rank ≤ 2: unchanged). */
export function toNchw(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  if (r <= 2) return x;
  return tf.transpose(x, [0, r - 1, ...Array.from({ length: r - 2 }, (_, i) => i + 1)]);
}

/** NCHW-order tensor → channels last (rank ≤ 2: unchanged). */
export function fromNchw(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  if (r <= 2) return x;
  return tf.transpose(x, [0, ...Array.from({ length: r - 2 }, (_, i) => i + 2), 1]);
}

/** Reorders NCHW-order values (batch axis included) into the channels-last layout, on the CPU. */
export function nchwToLayout(data: Float32Array, shape: number[]): { data: Float32Array; shape: number[] } {
  const r = shape.length;
  if (r <= 2) return { data, shape: [...shape] };
  const [n, c] = shape;
  const inner = shape.slice(2).reduce((a, d) => a * d, 1);
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < c; ch++) {
      const src = (b * c + ch) * inner;
      for (let i = 0; i < inner; i++) out[(b * inner + i) * c + ch] = data[src + i];
    }
  return { data: out, shape: [n, ...shape.slice(2), c] };
}

/** Inverse of nchwToLayout: channels-last values of tensor shape `shape` → NCHW order. */
export function layoutToNchw(data: Float32Array | Int32Array | Uint8Array, shape: number[]): { data: Float32Array; shape: number[] } {
  const r = shape.length;
  if (r <= 2) return { data: Float32Array.from(data), shape: [...shape] };
  const n = shape[0];
  const c = shape[r - 1];
  const inner = shape.slice(1, r - 1).reduce((a, d) => a * d, 1);
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++) for (let i = 0; i < inner; i++) for (let ch = 0; ch < c; ch++) out[(b * c + ch) * inner + i] = data[(b * inner + i) * c + ch];
  return { data: out, shape: [n, c, ...shape.slice(1, r - 1)] };
}

/** Checks a network input tensor against a non-image input blob (ONNX/TF.js graphs of other ranks). */
export function checkInputLayout(input: tf.Tensor, shape: number[], model: string): void {
  const want = tfShape(input.shape[0] ?? 0, shape);
  if (input.rank !== want.length || want.some((d, i) => i > 0 && input.shape[i] !== d)) {
    throw new UserError(`model ${model}: input must be [N, ${want.slice(1).join(', ')}] (channels last), got [${input.shape}]`);
  }
}
