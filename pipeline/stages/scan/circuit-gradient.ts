import * as tf from '@tensorflow/tfjs-core';
import type { Net } from '../../engine/net/types.ts';
import { selector } from './deconv.ts';

/**
 * Gradient × activation from the channels of an earlier blob to one unit: for each image (one
 * preprocessed H×W×C input each, the unit's max position on it), the gradient of the unit's
 * activation at that position with respect to blob `from`, times `from`'s activation, summed over
 * positions. For a net of ReLUs, convolutions and max-pooling the channels' values add up to the
 * unit's activation less what the biases on the way contribute (the unit is piecewise linear in
 * `from`). The gradient is the true one (backprop), taken through a zero offset on `from`.
 */
export interface CircuitTarget {
  blob: string;
  unit: number;
  from: string;
}

export async function gradientTimesActivation(
  net: Net,
  inputs: Float32Array[],
  positions: number[],
  target: CircuitTarget,
): Promise<{ perImage: Float32Array[]; values: number[] }> {
  const [C0, H, W] = net.model.graph.input.shape;
  const n = inputs.length;
  if (n === 0) return { perImage: [], values: [] };
  const infos = new Map(net.model.graph.blobs.map((b) => [b.name, b]));
  const info = infos.get(target.blob);
  const fromInfo = infos.get(target.from);
  if (!info || !fromInfo) throw new Error(`no blob named ${info ? target.from : target.blob}`);
  const fromShape = fromInfo.shape.length === 3 ? [n, fromInfo.shape[1], fromInfo.shape[2], fromInfo.shape[0]] : [n, fromInfo.shape[0]];
  const { contrib, value } = tf.tidy(() => {
    const batch = new Float32Array(n * H * W * C0);
    inputs.forEach((x, i) => batch.set(x, i * H * W * C0));
    const x = tf.tensor4d(batch, [n, H, W, C0]);
    const mask = selector(
      info,
      positions.map((pos) => ({ blob: target.blob, unit: target.unit, pos })),
    );
    let acts: tf.Tensor | undefined;
    let values: tf.Tensor | undefined;
    const f = (offset: tf.Tensor) => {
      const outs = net.forward(x, [target.blob, target.from], { gradMode: 'backprop', offsets: { [target.from]: offset } });
      const o = outs[target.blob];
      const s = tf.sum(
        tf.mul(o, mask),
        o.shape.slice(1).map((_, j) => j + 1),
      );
      acts = tf.keep(tf.clone(outs[target.from]));
      values = tf.keep(tf.clone(s));
      return tf.sum(s);
    };
    const g = tf.grad(f)(tf.zeros(fromShape));
    const prod = tf.mul(g, acts!);
    const perChannel = prod.rank === 4 ? tf.sum(prod, [1, 2]) : prod;
    const out = { contrib: perChannel, value: values! };
    tf.dispose(acts!);
    return out;
  });
  const c = (await contrib.data()) as Float32Array;
  const v = Array.from(await value.data());
  tf.dispose([contrib, value]);
  const channels = fromInfo.shape[0];
  return { perImage: Array.from({ length: n }, (_, i) => c.slice(i * channels, (i + 1) * channels)), values: v };
}
