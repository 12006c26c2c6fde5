/**
 * What to maximise: one unit of a blob per image of the batch. Conv units are read at the spatial
 * centre (as the toolbox does) or averaged over all positions (`channel`); fc units directly.
 * Every value is per image, computed with masks rather than gathers (no batch coupling, and the
 * ops differentiate on every backend).
 *
 * With `preRelu` the blob given is the pre-activation v of a ReLU blob (pre-relu.ts): the reported
 * activation is computed from relu(v), and while it is zero the ascent follows v instead (centre:
 * v at the centre; channel: the mean of v), which is the same direction as soon as the unit is on.
 */
import * as tf from '@tensorflow/tfjs-core';

export type ObjectiveKind = 'center' | 'channel';

export interface UnitObjective {
  blob: string;
  kind: ObjectiveKind;
  /** Unit (channel) per image of the batch. */
  units: number[];
  /** The unit's activation per image, [B]. `out` is the blob: [B, C] or [B, H, W, C]. */
  values(out: tf.Tensor): tf.Tensor1D;
  /** What the ascent differentiates, [B]: the activation, or its pre-ReLU surrogate while it is zero. */
  loss(out: tf.Tensor): tf.Tensor1D;
  /**
   * Whether each image's unit is the arg-max of its layer, [B] bool, left on the device: fc — over
   * the channels; `center` — over the whole blob (toolbox: argmax of all C×H×W values equals
   * (unit, cy, cx)); `channel` — over the channel means.
   */
  argmaxHits(out: tf.Tensor): tf.Tensor1D;
  /** Frees the constants the objective keeps on the device (its unit masks). */
  dispose(): void;
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

export function unitObjective(blob: string, units: number[], kind: ObjectiveKind = 'center', opts: { preRelu?: boolean } = {}): UnitObjective {
  const preRelu = opts.preRelu ?? false;
  // Built once per shape and kept: a tensor made from host data is an upload on a GPU backend.
  const consts = new Map<string, tf.Tensor>();
  const kept = <T extends tf.Tensor>(key: string, make: () => T): T => {
    if (!consts.has(key)) consts.set(key, tf.keep(make()));
    return consts.get(key) as T;
  };
  const pick = (scores: tf.Tensor2D): tf.Tensor1D => {
    const c = scores.shape[1];
    const mask = kept(`mask ${c}`, () => {
      for (const u of units) if (u < 0 || u >= c) throw new Error(`objective: unit ${u} out of range for ${blob} (${c} units)`);
      const m = new Float32Array(units.length * c);
      units.forEach((u, i) => (m[i * c + u] = 1));
      return tf.tensor2d(m, [units.length, c]);
    });
    return tf.sum(tf.mul(scores, mask), 1) as tf.Tensor1D;
  };
  const values = (out: tf.Tensor) => tf.tidy(() => pick(perUnit(preRelu ? tf.relu(out) : out, kind)));
  return {
    blob,
    kind,
    units,
    values,
    loss(out) {
      if (!preRelu) return values(out);
      return tf.tidy(() => {
        const v = values(out);
        const on = tf.step(v); // 1 where active; its gradient is zero
        const one = kept('one', () => tf.scalar(1));
        return tf.add(tf.mul(on, v), tf.mul(tf.sub(one, on), pick(perUnit(out, kind)))) as tf.Tensor1D;
      });
    },
    argmaxHits(out) {
      return tf.tidy(() => {
        const o = preRelu ? tf.relu(out) : out;
        const centreOfAll = o.rank === 4 && kind === 'center';
        const idx = centreOfAll ? tf.argMax(tf.reshape(o, [o.shape[0], -1]), 1) : tf.argMax(perUnit(o, kind), 1);
        const want = kept(`want ${o.shape.join('x')}`, () => {
          if (!centreOfAll) return tf.tensor1d(units, 'int32');
          const [, h, w, c] = o.shape as [number, number, number, number];
          const [cy, cx] = centre(h, w);
          return tf.tensor1d(
            units.map((u) => (cy * w + cx) * c + u), // NHWC flat index
            'int32',
          );
        });
        return tf.equal(idx, want) as tf.Tensor1D;
      });
    },
    dispose() {
      tf.dispose([...consts.values()]);
      consts.clear();
    },
  };
}
