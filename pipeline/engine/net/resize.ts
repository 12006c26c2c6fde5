import * as tf from '@tensorflow/tfjs-core';
import type { ResizeLayer } from '../../graph/tensor-layers.ts';
import { fromNchw, toNchw } from './layout.ts';
import type { TensorOp } from './ops-window.ts';

/**
 * Resize (ONNX Resize / Upsample): along each resized axis the output is a fixed linear map of
 * the input — nearest-neighbour selection or linear weights, positions mapped by ONNX's coordinate
 * rules — applied as a matrix product, so forward and gradient are exact for every mode.
 */

/**
 * Input coordinate of output position `j` (ONNX coordinate_transformation_mode). As in the ONNX
 * specification, the resized length in the formulas is inSize·scale (not rounded to the output size).
 */
function sourceCoordinate(l: ResizeLayer, j: number, scale: number, inSize: number, outSize: number): number {
  const resized = inSize * scale;
  switch (l.coordinates) {
    case 'half_pixel':
      return (j + 0.5) / scale - 0.5;
    case 'half_pixel_symmetric': {
      const adjustment = outSize / resized;
      const offset = (inSize / 2) * (1 - adjustment);
      return offset + (j + 0.5) / scale - 0.5;
    }
    case 'pytorch_half_pixel':
      return resized > 1 ? (j + 0.5) / scale - 0.5 : 0;
    case 'align_corners':
      return resized === 1 ? 0 : (j * (inSize - 1)) / (resized - 1);
    case 'asymmetric':
      return j / scale;
    case 'tf_half_pixel_for_nn':
      return (j + 0.5) / scale;
  }
}

function nearestIndex(l: ResizeLayer, x: number): number {
  switch (l.nearest) {
    case 'round_prefer_floor':
      return x === Math.floor(x) + 0.5 ? Math.floor(x) : Math.round(x);
    case 'round_prefer_ceil':
      return Math.floor(x + 0.5);
    case 'floor':
      return Math.floor(x);
    case 'ceil':
      return Math.ceil(x);
  }
}

/**
 * The interpolation matrix of resized axis `i`, transposed: [in, out] row-major (entry (k, j):
 * the weight of input position k in output position j), so it right-multiplies the axis' values.
 */
export function interpolationMatrix(l: ResizeLayer, i: number, inSize: number): Float32Array {
  const outSize = l.sizes[i];
  const m = new Float32Array(inSize * outSize);
  const clamp = (k: number) => Math.min(Math.max(k, 0), inSize - 1);
  const add = (k: number, j: number, w: number) => {
    m[clamp(k) * outSize + j] += w;
  };
  for (let j = 0; j < outSize; j++) {
    // Coordinates in float32, as the reference implementations compute them.
    const x = Math.fround(sourceCoordinate(l, j, l.scales[i], inSize, outSize));
    if (l.mode === 'nearest') {
      add(nearestIndex(l, x), j, 1);
      continue;
    }
    const lo = Math.floor(x);
    const r = x - lo;
    add(lo, j, 1 - r);
    add(lo + 1, j, r);
  }
  return m;
}

/** The executor of a resize layer over a blob of per-image shape `inShape`. */
export function makeResize(l: ResizeLayer, inShape: number[]): TensorOp {
  const rank = inShape.length;
  // Per resized axis its matrix [in, out], right-multiplied after moving the axis last.
  const mats = l.axes.map((a, i) => tf.tensor2d(interpolationMatrix(l, i, inShape[a]), [inShape[a], l.sizes[i]]));
  return {
    run([xin]) {
      let x = toNchw(xin);
      l.axes.forEach((a, i) => {
        const axis = a + 1;
        const perm = Array.from({ length: rank + 1 }, (_, k) => k).filter((k) => k !== axis);
        perm.push(axis);
        const moved = tf.transpose(x, perm);
        const lead = moved.shape.slice(0, -1);
        const y = tf.reshape(tf.matMul(tf.reshape(moved, [-1, inShape[a]]), mats[i]), [...lead, l.sizes[i]]);
        const back = perm.map((_, k) => perm.indexOf(k));
        x = tf.transpose(y, back);
      });
      return [fromNchw(x)];
    },
    dispose() {
      for (const m of mats) m.dispose();
    },
  };
}
