/** Pool task functions for scripts/bench-net.ts. */
import type * as TF from '@tensorflow/tfjs';

import { classifyBatch } from '../pipeline/stages/classify/handlers.ts';
import type { HandlerContext as Ctx, HandlerTable } from '../pipeline/engine/workers/handlers.ts';

export interface StepArgs {
  /** Blob of the units (e.g. loss3/classifier); conv blobs use the channel's centre unit. */
  blob: string;
  /** One unit (channel) per image of the batch. */
  units: number[];
  /** Gradient steps to run. */
  steps: number;
  seed: number;
}

/**
 * Activation-maximisation inner loop: `steps` times, forward + gradient of each image's unit with
 * respect to that image, for a batch of random images; x += g / max|g| so every step differs.
 * Returns the wall time of the steps (after one warm-up step).
 */
export function imgSteps({ net, model, tf }: Ctx, a: StepArgs): { ms: number; images: number } {
  const [C, H, W] = model.graph.input.shape;
  const n = a.units.length;
  const info = model.graph.blobs.find((b) => b.name === a.blob);
  if (!info) throw new Error(`no blob ${a.blob}`);
  const [, bh = 1, bw = 1] = info.shape;
  // Only the batch's units are computed (Net forward option `channels`); image i selects channel i
  // (at the centre position of conv blobs).
  const sel = new Float32Array(n * bh * bw * n);
  for (let i = 0; i < n; i++) sel[((i * bh + (bh >> 1)) * bw + (bw >> 1)) * n + i] = 1;
  const selT = tf.tensor(sel, info.shape.length === 3 ? [n, bh, bw, n] : [n, n]);
  const channels = { [a.blob]: a.units };
  let x = tf.randomNormal([n, H, W, C], 0, 10, 'float32', a.seed) as TF.Tensor4D;
  const grad = tf.grad((xi: TF.Tensor) => tf.sum(tf.mul(net.forward(xi as TF.Tensor4D, [a.blob], { channels })[a.blob], selT)));
  const step = () => {
    const next = tf.tidy(() => {
      const g = grad(x);
      return tf.add(x, tf.div(g, tf.add(tf.max(tf.abs(g)), 1e-8))) as TF.Tensor4D;
    });
    next.dataSync();
    x.dispose();
    x = next;
  };
  step();
  const t0 = performance.now();
  for (let i = 0; i < a.steps; i++) step();
  const ms = performance.now() - t0;
  x.dispose();
  selT.dispose();
  return { ms, images: n * a.steps };
}

export const handlers = { classifyBatch, imgSteps } satisfies HandlerTable;
