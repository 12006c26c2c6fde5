/** Comparing two nets (engines) on the same inputs: whole-tensor relative differences, input gradients, every blob. */
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { GradMode, Net } from '../../pipeline/engine/net/types.ts';
import type { Model } from '../../pipeline/graph/types.ts';

/** max |a − b| / max |a| over the whole tensor. */
export const maxRel = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / (tf.max(tf.abs(a)).dataSync()[0] || 1));

/** d Σ(blob · seed) / d input, in the given gradient mode (of the blob's chosen `channels`, when given). */
export function inputGrad(net: Net, x: tf.Tensor4D, blob: string, seed: tf.Tensor, mode: GradMode, channels?: number[]): tf.Tensor {
  const opts = { gradMode: mode, ...(channels ? { channels: { [blob]: channels } } : {}) };
  return tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(net.forward(xi as tf.Tensor4D, [blob], opts)[blob], seed)))(x);
}

/** Every blob but the input: within `tol` of the reference's largest value, the same shape. Returns how many blobs were compared. */
export function expectEveryBlobClose(model: Model, ref: Net, other: Net, x: tf.Tensor4D, tol: number): number {
  const blobs = model.graph.blobs.map((b) => b.name).filter((b) => b !== model.graph.input.blob);
  const a = ref.forward(x, blobs);
  const b = other.forward(x, blobs);
  const off = blobs.map((k) => ({ blob: k, rel: maxRel(a[k], b[k]) })).filter((r) => !(r.rel <= tol));
  expect(off).toEqual([]);
  for (const k of blobs) expect(b[k].shape, k).toEqual(a[k].shape);
  tf.dispose([...Object.values(a), ...Object.values(b)]);
  return blobs.length;
}
