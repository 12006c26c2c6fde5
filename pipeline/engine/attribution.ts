/**
 * Where in the input a net's output comes from, for one image: Grad-CAM (Selvaraju et al. 2017)
 * for a class score, and gradient × input for any unit. Run by the probe page in the browser (and
 * by the tests in Node) on the pipeline's own executor; inputs are one preprocessed image, H×W×C
 * in the network's layout.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../graph/types.ts';
import { classScoreBlob } from '../graph/classes.ts';
import type { Net } from './net/types.ts';

/** The blob Grad-CAM looks at: the last blob with more than one position that feeds the class scores. */
export function camBlob(model: Model): string | undefined {
  const score = classScoreBlob(model);
  const blobs = model.graph.blobs;
  const at = blobs.findIndex((b) => b.name === score);
  const feeds = ancestors(model, score);
  for (let i = at - 1; i >= 0; i--) {
    const b = blobs[i];
    if (b.name !== model.graph.input.blob && feeds.has(b.name) && b.shape.length === 3 && b.shape[1] * b.shape[2] > 1) return b.name;
  }
  return undefined;
}

/** Every blob `blob` is computed from (side views such as a transformer's token grids are not). */
function ancestors(model: Model, blob: string | undefined): Set<string> {
  const writers = new Map<string, string[][]>(); // blob → the bottoms of each layer writing it
  for (const l of model.graph.layers) for (const t of l.tops) writers.set(t, [...(writers.get(t) ?? []), l.bottoms]);
  const out = new Set<string>();
  const todo = blob ? [blob] : [];
  while (todo.length) {
    const b = todo.pop()!;
    for (const bottoms of writers.get(b) ?? [])
      for (const x of bottoms)
        if (!out.has(x) && x !== b) {
          out.add(x);
          todo.push(x);
        }
  }
  return out;
}

export interface AttributionMap {
  /** Row-major h×w, ≥ 0. */
  map: Float32Array;
  h: number;
  w: number;
}

/**
 * Grad-CAM of channel `unit` of blob `target` (a class score) at blob `at`: ReLU(Σ_c α_c A_c) with
 * A the activations of `at` and α_c the mean over positions of ∂target/∂A_c.
 */
export function gradCam(net: Net, input: Float32Array, target: string, unit: number, at: string): AttributionMap {
  const [C0, H, W] = net.model.graph.input.shape;
  const info = net.model.graph.blobs.find((b) => b.name === at);
  if (!info || info.shape.length !== 3) throw new Error(`Grad-CAM needs a spatial blob, not "${at}"`);
  const [C, h, w] = info.shape;
  const cam = tf.tidy(() => {
    const x = tf.tensor4d(input, [1, H, W, C0]);
    let acts: tf.Tensor | undefined;
    const f = (offset: tf.Tensor) => {
      const outs = net.forward(x, [target, at], { offsets: { [at]: offset } });
      acts = tf.keep(tf.clone(outs[at]));
      const score = tf.reshape(outs[target], [-1]);
      return tf.sum(tf.slice(score, [unit], [1]));
    };
    const g = tf.grad(f)(tf.zeros([1, h, w, C]));
    const alpha = tf.mean(g, [1, 2], true); // [1, 1, 1, C]
    const out = tf.relu(tf.sum(tf.mul(acts!, alpha), 3)); // [1, h, w]
    tf.dispose(acts!);
    return out;
  });
  const map = cam.dataSync() as Float32Array;
  cam.dispose();
  return { map: Float32Array.from(map), h, w };
}

/**
 * Gradient × input of unit `unit` of blob `target` (its activation summed over positions): per
 * input pixel Σ over colour channels of x · ∂target/∂x, positive part.
 */
export function gradientTimesInput(net: Net, input: Float32Array, target: string, unit: number): AttributionMap {
  const [C0, H, W] = net.model.graph.input.shape;
  const m = tf.tidy(() => {
    const x = tf.tensor4d(input, [1, H, W, C0]);
    const f = (xi: tf.Tensor) => {
      const o = net.forward(xi as tf.Tensor4D, [target])[target];
      const c = o.shape[o.shape.length - 1]!;
      const flat = tf.reshape(o, [-1, c]);
      return tf.sum(tf.slice(flat, [0, unit], [-1, 1]));
    };
    const g = tf.grad(f)(x);
    return tf.relu(tf.sum(tf.mul(g, x), 3));
  });
  const map = m.dataSync() as Float32Array;
  m.dispose();
  return { map: Float32Array.from(map), h: H, w: W };
}
