import * as tf from '@tensorflow/tfjs-core';
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
