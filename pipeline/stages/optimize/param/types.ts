import type * as tf from '@tensorflow/tfjs-core';

/**
 * How a batch of images is represented while it is optimised (Lucent's `param`). The render loop
 * takes gradients with respect to `params()` through `render()`, then calls `update()`.
 */
export interface Parameterization {
  /** The tensor gradients are taken with respect to. Owned by the parameterisation. */
  params(): tf.Tensor;
  /** The network input [B, H, W, 3] for this step, differentiable in `p` (may apply random transforms). */
  render(p: tf.Tensor, step: number): tf.Tensor4D;
  /** True when render() is the image itself, so the values seen during ascent are its exact activations. */
  readonly renderIsClean: boolean;
  /** The current image, untransformed, as network input [B, H, W, 3]. Caller disposes. */
  clean(): tf.Tensor4D;
  /** One ascent step given d(objective)/d(params). */
  update(grad: tf.Tensor, step: number): void;
  dispose(): void;
}
