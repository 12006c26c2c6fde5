/**
 * Decorrelated colour (Lucid): the optimised channels are mapped to RGB through the square root of
 * ImageNet's colour covariance, normalised by its largest column norm, then squashed to (0, 1).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Preprocess } from '../../../graph/types.ts';
import { type Constants, ONE_OFF } from './constants.ts';

const SVD_SQRT = [
  [0.26, 0.09, 0.02],
  [0.27, 0.0, -0.05],
  [0.27, -0.09, 0.03],
];

/** The 3×3 matrix M with rgb = t · Mᵀ (row vectors), Lucid's color_correlation_normalized. */
export function colorMatrix(): number[][] {
  let maxNorm = 0;
  for (let c = 0; c < 3; c++) maxNorm = Math.max(maxNorm, Math.hypot(SVD_SQRT[0][c], SVD_SQRT[1][c], SVD_SQRT[2][c]));
  return SVD_SQRT.map((row) => row.map((v) => v / maxNorm));
}

/** Decorrelated channels [B, H, W, 3] → RGB in (0, 1). */
export function toValidRgb(t: tf.Tensor4D, k3: Constants = ONE_OFF): tf.Tensor4D {
  return tf.tidy(() => {
    const m = colorMatrix();
    const mt = k3.get('colour Mt', () =>
      tf.tensor2d(
        [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => m[j][i])),
        [3, 3],
      ),
    ); // Mᵀ
    const flat = tf.reshape(t, [-1, 3]) as tf.Tensor2D;
    return tf.sigmoid(tf.reshape(tf.matMul(flat, mt), t.shape)) as tf.Tensor4D;
  });
}

/** RGB in [0, 1] [B, H, W, 3] → network input (channel order, scale, mean, std). */
export function rgbToInput(rgb: tf.Tensor4D, p: Preprocess, k3: Constants = ONE_OFF): tf.Tensor4D {
  return tf.tidy(() => {
    let v = tf.mul(rgb, k3.scalar(255 * p.scale)) as tf.Tensor4D;
    if (p.channelOrder === 'BGR') v = tf.reverse(v, 3);
    const mean = k3.get('input mean', () => tf.tensor4d(p.mean, [1, 1, 1, 3]));
    const std = k3.get('input std', () => tf.tensor4d(p.std, [1, 1, 1, 3]));
    return tf.div(tf.sub(v, mean), std) as tf.Tensor4D;
  });
}
