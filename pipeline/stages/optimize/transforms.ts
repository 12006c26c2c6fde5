/**
 * Transformation robustness (Lucid's standard transforms) as one random similarity warp per image
 * and step: jitter, scale, small rotation, grey (0.5) outside the image — Lucid's pad(12) + jitter(8)
 * + random_scale + random_rotate + jitter(4). Draws come from each image's own stream.
 *
 * The warp runs as tf.image.transform (bilinear); its gradient is the inverse warp scaled by the
 * Jacobian (the adjoint of the sampling up to interpolation and borders), since the Transform op
 * has no registered gradient.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Rng } from './rng.ts';
import { type Constants, ONE_OFF } from './param/constants.ts';

export interface TransformSpec {
  /** Jitters applied in turn; each shifts by an integer in [-d/2, d/2] on both axes. */
  jitters: number[];
  scales: number[];
  /** Degrees. */
  angles: number[];
}

export interface Similarity {
  scale: number;
  angle: number; // radians
  tx: number;
  ty: number;
}

export function drawSimilarity(rng: Rng, spec: TransformSpec): Similarity {
  let tx = 0;
  let ty = 0;
  for (const d of spec.jitters) {
    tx += rng.int(0, d) - d / 2;
    ty += rng.int(0, d) - d / 2;
  }
  const scale = rng.pick(spec.scales);
  const angle = (rng.pick(spec.angles) * Math.PI) / 180;
  return { scale, angle, tx, ty };
}

/**
 * tf.image.transform rows (output → input coordinates) for a similarity about the image centre,
 * and the inverse rows. Output pixel p samples input at R(θ)(p − c)/s + c + t.
 */
export function similarityRows(t: Similarity, h: number, w: number): { fwd: number[]; inv: number[] } {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const cos = Math.cos(t.angle);
  const sin = Math.sin(t.angle);
  const a0 = cos / t.scale,
    a1 = -sin / t.scale,
    b0 = sin / t.scale,
    b1 = cos / t.scale;
  const fwd = [a0, a1, cx - a0 * cx - a1 * cy + t.tx, b0, b1, cy - b0 * cx - b1 * cy + t.ty, 0, 0];
  const i0 = t.scale * cos,
    i1 = t.scale * sin,
    j0 = -t.scale * sin,
    j1 = t.scale * cos;
  const ox = cx + t.tx,
    oy = cy + t.ty;
  const inv = [i0, i1, cx - i0 * ox - i1 * oy, j0, j1, cy - j0 * ox - j1 * oy, 0, 0];
  return { fwd, inv };
}

/** Warps one image [1, H, W, 3]; gradient: the inverse warp times the Jacobian determinant. */
function warpOne(img: tf.Tensor4D, sim: Similarity, k3: Constants): tf.Tensor4D {
  const [, h, w] = img.shape;
  const rows = similarityRows(sim, h, w);
  const f = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    save([]);
    const value = tf.tidy(() => tf.image.transform(x as tf.Tensor4D, tf.tensor2d(rows.fwd, [1, 8]), 'bilinear', 'constant', 0.5));
    return {
      value,
      gradFunc: (dy: tf.Tensor) =>
        tf.tidy(() =>
          tf.mul(tf.image.transform(dy as tf.Tensor4D, tf.tensor2d(rows.inv, [1, 8]), 'bilinear', 'constant', 0), k3.scalar(sim.scale * sim.scale)),
        ),
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f(img) as tf.Tensor4D;
}

/**
 * Warps each image of rgb [B, H, W, 3] by its own similarity; differentiable (approximate adjoint).
 * One Transform call per image: tfjs-backend-cpu's Transform kernel only computes the first image
 * of a batch (it returns inside its batch loop).
 */
export function warp(rgb: tf.Tensor4D, sims: Similarity[], k3: Constants = ONE_OFF): tf.Tensor4D {
  const b = rgb.shape[0];
  if (sims.length !== b) throw new Error(`warp: ${sims.length} transforms for ${b} images`);
  if (b === 1) return warpOne(rgb, sims[0], k3);
  const parts = tf.split(rgb, b, 0) as tf.Tensor4D[];
  return tf.concat(
    parts.map((p, i) => warpOne(p, sims[i], k3)),
    0,
  );
}
