import * as tf from '@tensorflow/tfjs-core';
import type { GradMode } from './types.ts';
import { withGrad } from './custom.ts';

/**
 * Backward rule of a ReLU (y = max(x, slope·x)) for each gradient mode; `y` is the forward output.
 * backprop: dy where y > 0, slope·dy elsewhere (Caffe: bottom > 0 ? 1 : slope);
 * deconv (Zeiler & Fergus): max(dy, 0), whatever the forward pass did;
 * guided: max(dy, 0) where y > 0.
 */
export function reluGrad(dy: tf.Tensor, y: tf.Tensor, mode: GradMode, slope: number): tf.Tensor {
  switch (mode) {
    case 'backprop':
      return tf.mul(dy, tf.step(y, slope));
    case 'deconv':
      return tf.relu(dy);
    case 'guided':
      return tf.mul(tf.relu(dy), tf.step(y, 0));
  }
}

/** A ReLU whose gradient follows `mode`. `stock` uses tfjs's own relu gradient (backprop only). */
export function relu(x: tf.Tensor, slope: number, mode: GradMode, stock = false): tf.Tensor {
  const fwd = (t: tf.Tensor) => (slope === 0 ? tf.relu(t) : tf.leakyRelu(t, slope));
  if (stock && mode === 'backprop') return fwd(x);
  return withGrad(x, (xi, save) => {
    const value = fwd(xi);
    save([value]);
    return { value, gradFunc: (dy, saved) => reluGrad(dy, saved[0], mode, slope) };
  });
}
