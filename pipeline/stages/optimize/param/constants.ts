/**
 * The constant tensors of an optimisation (step sizes, blur kernels, colour matrices…), made once
 * per render and kept: on a GPU backend a tensor made from a JavaScript number or array is a
 * host→GPU upload, and the loop would otherwise upload each of them on every step.
 */
import * as tf from '@tensorflow/tfjs-core';

export interface Constants {
  /** The tensor under `key`, made by `make` the first time. */
  get<T extends tf.Tensor>(key: string, make: () => T): T;
  /** A float32 scalar. */
  scalar(v: number): tf.Scalar;
}

/** Kept until dispose(): for one render. */
export class KeptConstants implements Constants {
  private readonly held = new Map<string, tf.Tensor>();

  get<T extends tf.Tensor>(key: string, make: () => T): T {
    let t = this.held.get(key);
    if (!t) {
      t = tf.keep(make());
      this.held.set(key, t);
    }
    return t as T;
  }

  scalar(v: number): tf.Scalar {
    return this.get(`scalar ${v}`, () => tf.scalar(v));
  }

  dispose(): void {
    tf.dispose([...this.held.values()]);
    this.held.clear();
  }
}

/** Made on each use (freed by the caller's tidy): for one-off calls. */
export const ONE_OFF: Constants = {
  get: (_key, make) => make(),
  scalar: (v) => tf.scalar(v),
};
