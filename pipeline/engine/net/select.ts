import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/errors.ts';
import { withGrad } from './custom.ts';

/**
 * x[..., channels] (repeats allowed), differentiable on every backend: tfjs-wasm has no
 * UnsortedSegmentSum, the kernel of tf.gather's gradient, so the gradient is a matMul with the
 * one-hot selection matrix instead.
 */
export function selectChannels(x: tf.Tensor, channels: number[]): tf.Tensor {
  const C = x.shape[x.rank - 1],
    K = channels.length;
  return withGrad(x, () => ({
    value: tf.gather(x, tf.tensor1d(channels, 'int32'), x.rank - 1),
    gradFunc: (dy) => {
      const onehot = new Float32Array(K * C);
      channels.forEach((c, k) => (onehot[k * C + c] = 1));
      const flat = tf.reshape(dy, [-1, K]) as tf.Tensor2D;
      return tf.reshape(tf.matMul(flat, tf.tensor2d(onehot, [K, C])), x.shape);
    },
  }));
}

/** Checks a forward's `channels` option: each named blob is asked for, each channel one it has (one-line UserErrors). */
export function checkChannels(blobs: string[], channels: Record<string, number[]>, channelCount: (blob: string) => number): void {
  for (const [b, list] of Object.entries(channels)) {
    if (!blobs.includes(b)) throw new UserError(`channels given for "${b}", which is not among the blobs asked for`);
    const count = channelCount(b);
    for (const c of list) if (!Number.isInteger(c) || c < 0 || c >= count) throw new UserError(`blob "${b}" has ${count} channels; no channel ${c}`);
  }
}
