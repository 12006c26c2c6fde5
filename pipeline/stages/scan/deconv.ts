import * as tf from '@tensorflow/tfjs-core';
import type { GradMode, Net } from '../../engine/net/types.ts';
import type { BlobInfo } from '../../graph/types.ts';
import { isSpatial } from './patches.ts';

/**
 * Deconv / backprop / guided-backprop maps: the gradient of ONE activation (unit `unit` of blob
 * `blob` at flat position `pos`, on one image) with respect to the input image, with the ReLU
 * backward rule of `mode` (max-pooling always uses the forward switches). Several targets on the
 * same image run as one batch of copies of the image, each copy carrying one target's gradient.
 */
export interface GradTarget {
  blob: string;
  unit: number;
  /** Flat spatial position y·W + x (0 for fc blobs). */
  pos: number;
}

/** One-hot selector over a blob for a batch: copy b selects targets[b] when it is on this blob. */
export function selector(info: BlobInfo, targets: GradTarget[]): tf.Tensor {
  const B = targets.length;
  const C = info.shape[0];
  const spatial = isSpatial(info);
  const per = spatial ? info.shape[1] * info.shape[2] * C : C;
  const mask = new Float32Array(B * per);
  targets.forEach((t, b) => {
    if (t.blob !== info.name) return;
    if (t.unit < 0 || t.unit >= C) throw new Error(`unit ${t.unit} out of range for ${info.name}`);
    mask[b * per + (spatial ? t.pos * C : 0) + t.unit] = 1;
  });
  return spatial ? tf.tensor4d(mask, [B, info.shape[1], info.shape[2], C]) : tf.tensor2d(mask, [B, C]);
}

/**
 * Input gradients (H×W×3, network channel order) of each target's activation on `input`
 * (one preprocessed image, H×W×3). Also returns each target's forward activation.
 */
export async function unitInputGradients(
  net: Net,
  input: Float32Array,
  targets: GradTarget[],
  mode: GradMode,
): Promise<{ grads: Float32Array[]; values: number[] }> {
  const [C0, H, W] = net.model.graph.input.shape;
  const B = targets.length;
  if (B === 0) return { grads: [], values: [] };
  const infos = new Map(net.model.graph.blobs.map((b) => [b.name, b]));
  const blobs = [...new Set(targets.map((t) => t.blob))];
  for (const b of blobs) if (!infos.has(b)) throw new Error(`no blob named ${b}`);
  const { grad, value } = tf.tidy(() => {
    const masks = blobs.map((b) => selector(infos.get(b)!, targets));
    const one = tf.tensor4d(input, [1, H, W, C0]);
    const x = tf.tile(one, [B, 1, 1, 1]) as tf.Tensor4D;
    const perCopy = (xi: tf.Tensor4D) => {
      const outs = net.forward(xi, blobs, { gradMode: mode });
      let s: tf.Tensor = tf.zeros([B]);
      blobs.forEach((b, i) => {
        const o = outs[b];
        const axes = o.shape.slice(1).map((_, j) => j + 1);
        s = tf.add(s, tf.sum(tf.mul(o, masks[i]), axes));
      });
      return s;
    };
    let values: tf.Tensor | undefined;
    const f = (xi: tf.Tensor) => {
      const s = perCopy(xi as tf.Tensor4D);
      values = tf.keep(s.clone()); // the forward activations, without a second pass
      return tf.sum(s);
    };
    const g = tf.grad(f)(x);
    return { grad: g, value: values! };
  });
  // Asynchronous reads: WebGPU has no synchronous one in Node.
  const g = (await grad.data()) as Float32Array;
  const v = Array.from(await value.data());
  grad.dispose();
  value.dispose();
  const n = H * W * C0;
  return { grads: targets.map((_, b) => g.slice(b * n, (b + 1) * n)), values: v };
}
