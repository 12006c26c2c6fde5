import * as tf from '@tensorflow/tfjs-core';

/** What a custom-gradient op computes: its value, and the input gradient from the output gradient. */
export type CustomOp<T extends tf.Tensor> = (
  x: tf.Tensor,
  save: tf.GradSaveFunc,
) => {
  value: T;
  gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor;
};

/** tf.customGrad for a one-input op (typed; the gradient is only ever taken w.r.t. `x`). */
export function withGrad<T extends tf.Tensor>(x: tf.Tensor, f: CustomOp<T>): T {
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0])(x) as T;
}

export type ExplicitPadding = [[number, number], [number, number], [number, number], [number, number]];

/** tf.customGrad for an op of several inputs; `gradFunc` returns one gradient per input. */
export function withGradN<T extends tf.Tensor>(
  xs: tf.Tensor[],
  f: (xs: tf.Tensor[], save: tf.GradSaveFunc) => { value: T; gradFunc: (dy: T, saved: tf.Tensor[]) => tf.Tensor[] },
): T {
  const g = (...args: (tf.Tensor | tf.GradSaveFunc)[]) => f(args.slice(0, -1) as tf.Tensor[], args[args.length - 1] as tf.GradSaveFunc);
  return tf.customGrad(g as unknown as Parameters<typeof tf.customGrad>[0])(...xs) as T;
}
