/**
 * The paper's parameterisation: the image is the network input itself. Starts from the mean image
 * plus N(0, 10) noise (pixel units) and takes `x += lr·g` steps followed by the preset's priors.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Preprocess } from '../../../graph/types.ts';
import type { PixelPreset } from '../presets.ts';
import { clampToPixels, gaussianBlur, pixelBounds, zeroSmallContribution, zeroSmallNorm } from '../priors.ts';
import type { Rng } from '../rng.ts';
import { KeptConstants } from './constants.ts';
import type { Parameterization } from './types.ts';

/** Mean image + N(0, sd) pixel noise for each image, drawn from its own stream in (y, x, c) order. */
export function meanPlusNoise(rngs: Rng[], h: number, w: number, p: Preprocess, sd = 10): tf.Tensor4D {
  const n = h * w * 3;
  const data = new Float32Array(rngs.length * n);
  rngs.forEach((rng, b) => {
    for (let i = 0; i < n; i++) data[b * n + i] = (rng.normal() * sd * p.scale) / p.std[i % 3];
  });
  return tf.tensor4d(data, [rngs.length, h, w, 3]);
}

export class PixelParam implements Parameterization {
  readonly renderIsClean = true;
  private x: tf.Tensor4D;
  private readonly bounds: { lo: tf.Tensor4D; hi: tf.Tensor4D };
  private readonly k3 = new KeptConstants();

  /**
   * @param gradScale the layer's calibration (calibrate.ts); 1 reproduces the paper's literal step
   *                  sizes. A constant rate applies to the scaled gradient. A "progress" rate
   *                  `min(maxLr, desired / ‖g‖²)` is already free of the gradient's scale (it asks
   *                  for a fixed first-order gain of the objective per step), so it uses the raw
   *                  gradient and only its cap is calibrated: step = min(maxLr·scale, desired/‖g‖²)·g.
   *                  (Scaling g inside the progress rule would divide the gain by the scale.)
   */
  constructor(
    private readonly preset: PixelPreset,
    rngs: Rng[],
    size: [number, number],
    pre: Preprocess,
    private readonly gradScale = 1,
  ) {
    this.bounds = pixelBounds(pre, [rngs.length, size[0], size[1], 3]);
    const x0 = meanPlusNoise(rngs, size[0], size[1], pre);
    this.x = clampToPixels(x0, this.bounds);
    x0.dispose();
  }

  params(): tf.Tensor {
    return this.x;
  }

  render(p: tf.Tensor): tf.Tensor4D {
    return p as tf.Tensor4D;
  }

  clean(): tf.Tensor4D {
    return this.x.clone();
  }

  update(grad: tf.Tensor, step: number): void {
    const pr = this.preset;
    const next = tf.tidy(() => {
      const k3 = this.k3;
      let g: tf.Tensor4D;
      let lr: tf.Tensor;
      if (pr.lr.kind === 'constant') {
        g = tf.mul(grad, k3.scalar(this.gradScale)) as tf.Tensor4D;
        lr = k3.scalar(pr.lr.lr);
      } else {
        g = grad as tf.Tensor4D;
        const n2 = tf.sum(tf.square(g), [1, 2, 3], true);
        lr = tf.minimum(k3.scalar(pr.lr.maxLr * this.gradScale), tf.div(k3.scalar(pr.lr.desired), n2));
      }
      let x = tf.add(this.x, tf.mul(g, lr)) as tf.Tensor4D;
      if (pr.decay > 0) x = tf.mul(x, k3.scalar(1 - pr.decay));
      if (pr.blurRadius > 0 && pr.blurEvery > 0 && step % pr.blurEvery === 0) x = gaussianBlur(x, pr.blurRadius, k3);
      if (pr.normPct > 0) x = zeroSmallNorm(x, pr.normPct, k3);
      if (pr.contribPct > 0) x = zeroSmallContribution(x, g, pr.contribPct, k3);
      return clampToPixels(x, this.bounds);
    });
    this.x.dispose();
    this.x = next;
  }

  dispose(): void {
    this.k3.dispose();
    this.x.dispose();
    this.bounds.lo.dispose();
    this.bounds.hi.dispose();
  }
}
