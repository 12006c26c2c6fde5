/**
 * What to maximise: one unit of a blob per image of the batch. Conv units are read at the spatial
 * centre (as the toolbox does) or averaged over all positions (`channel`); fc units directly.
 * Every value is per image, computed with masks rather than gathers (no batch coupling, and the
 * ops differentiate on every backend).
 */
import * as tf from '@tensorflow/tfjs';

export type ObjectiveKind = 'center' | 'channel';

export interface UnitObjective {
  blob: string;
  kind: ObjectiveKind;
  /** Unit (channel) per image of the batch. */
  units: number[];
  /** Activation per image, [B] (differentiable). `out` is the blob: [B, C] or [B, H, W, C]. */
  values(out: tf.Tensor): tf.Tensor1D;
  /**
   * Whether each image's unit is the arg-max of its layer: fc — over the channels; `center` —
   * over the whole blob (toolbox: argmax of all C×H×W values equals (unit, cy, cx)); `channel` —
   * over the channel means.
   */
  isArgmax(out: tf.Tensor): Promise<boolean[]>;
}

/** Centre position of an H×W map (the toolbox's push_spatial for conv layers). */
export function centre(h: number, w: number): [number, number] {
  return [Math.floor(h / 2), Math.floor(w / 2)];
}

/** Per-image unit scores [B, C]: fc as is, conv at the centre or averaged. */
function perUnit(out: tf.Tensor, kind: ObjectiveKind): tf.Tensor2D {
  if (out.rank === 2) return out as tf.Tensor2D;
  if (out.rank !== 4) throw new Error(`objective: expected a [B,C] or [B,H,W,C] blob, got rank ${out.rank}`);
  const [b, h, w, c] = out.shape as [number, number, number, number];
  if (kind === 'channel') return tf.mean(out, [1, 2]) as tf.Tensor2D;
  const [cy, cx] = centre(h, w);
  return tf.reshape(tf.slice(out, [0, cy, cx, 0], [b, 1, 1, c]), [b, c]);
}

export function unitObjective(blob: string, units: number[], kind: ObjectiveKind = 'center'): UnitObjective {
  return {
    blob,
    kind,
    units,
    values(out) {
      return tf.tidy(() => {
        const scores = perUnit(out, kind);
        const c = scores.shape[1];
        for (const u of units) if (u < 0 || u >= c) throw new Error(`objective: unit ${u} out of range for ${blob} (${c} units)`);
        const mask = tf.oneHot(tf.tensor1d(units, 'int32'), c).toFloat();
        return tf.sum(tf.mul(scores, mask), 1) as tf.Tensor1D;
      });
    },
    async isArgmax(out) {
      const idx = tf.tidy(() => {
        if (out.rank === 4 && kind === 'center') return tf.argMax(tf.reshape(out, [out.shape[0], -1]), 1);
        return tf.argMax(perUnit(out, kind), 1);
      });
      const got = Array.from(await idx.data());
      idx.dispose();
      let want: number[];
      if (out.rank === 4 && kind === 'center') {
        const [, h, w, c] = out.shape as [number, number, number, number];
        const [cy, cx] = centre(h, w);
        want = units.map((u) => (cy * w + cx) * c + u); // NHWC flat index
      } else want = units;
      return got.map((g, i) => g === want[i]);
    },
  };
}
