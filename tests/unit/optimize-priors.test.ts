import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import {
  clampToPixels,
  gaussianBlur,
  gaussianKernel,
  percentileRows,
  pixelBounds,
  zeroSmallContribution,
  zeroSmallNorm,
} from '../../pipeline/stages/optimize/priors.ts';
import { realFourierBasis } from '../../pipeline/stages/optimize/param/fourier.ts';
import { colorMatrix } from '../../pipeline/stages/optimize/param/color.ts';
import { Rng } from '../../pipeline/stages/optimize/rng.ts';
import { toyModel } from '../helpers/optimize-toy.ts';

/** numpy.percentile with the default linear interpolation. */
function npPercentile(values: number[], pct: number): number {
  const a = [...values].sort((x, y) => x - y);
  const r = (pct / 100) * (a.length - 1);
  const lo = Math.floor(r);
  const hi = Math.min(lo + 1, a.length - 1);
  return a[lo] + (a[hi] - a[lo]) * (r - lo);
}

describe('optimize priors', () => {
  it('percentileRows matches numpy per row, on both sides of the median', () => {
    const rng = new Rng(1);
    const rows = [0, 1, 2].map(() => Array.from({ length: 101 + 0 }, () => rng.normal()));
    const t = tf.tensor2d(rows);
    for (const pct of [0, 20, 50, 73.5, 90, 100]) {
      const got = percentileRows(t, pct).dataSync();
      rows.forEach((r, i) => expect(got[i]).toBeCloseTo(npPercentile(r, pct), 5));
    }
  });

  it('gaussian kernel has scipy radius (truncate 4) and sums to 1', () => {
    expect(gaussianKernel(0.5).length).toBe(5);
    expect(gaussianKernel(1.0).length).toBe(9);
    expect(Array.from(gaussianKernel(1.0)).reduce((a, b) => a + b)).toBeCloseTo(1, 6);
  });

  it('blur keeps a constant image constant (mirrored borders) and smooths an impulse per image', () => {
    const c = tf.fill([2, 12, 12, 3], 7) as tf.Tensor4D;
    expect(Math.max(...Array.from(gaussianBlur(c, 1).dataSync()).map((v) => Math.abs(v - 7)))).toBeLessThan(1e-5);
    const imp = tf.buffer([2, 12, 12, 3]);
    imp.set(1, 0, 6, 6, 0);
    const out = gaussianBlur(imp.toTensor() as tf.Tensor4D, 1).arraySync() as number[][][][];
    expect(out[0][6][6][0]).toBeCloseTo(gaussianKernel(1)[4] ** 2, 5);
    expect(out[1][6][6][0]).toBe(0); // the other image is untouched
  });

  it('norm clip zeroes the pixels below the percentile, per image', () => {
    const rng = new Rng(2);
    const x = tf.tensor4d(
      Array.from({ length: 2 * 10 * 10 * 3 }, () => rng.normal()),
      [2, 10, 10, 3],
    );
    const y = zeroSmallNorm(x, 50).arraySync() as number[][][][];
    for (const img of y) {
      const zero = img.flat().filter((px) => px.every((v) => v === 0)).length;
      expect(zero).toBe(50);
    }
  });

  it('contribution clip keeps the pixels with the largest |Σ x·g|', () => {
    const x = tf.ones([1, 4, 4, 3]) as tf.Tensor4D;
    const g = tf.tensor4d(
      Array.from({ length: 48 }, (_, i) => Math.floor(i / 3)),
      [1, 4, 4, 3],
    ); // pixel k has contribution 3k
    const y = zeroSmallContribution(x, g, 75).dataSync();
    const kept = [];
    for (let k = 0; k < 16; k++) if (y[k * 3] !== 0) kept.push(k);
    expect(kept).toEqual([12, 13, 14, 15]); // threshold 3·11.25: pixels ≥ 12 kept
  });

  it('clamp keeps pixels in 0–255 after the mean', () => {
    const b = pixelBounds(toyModel().preprocess);
    const x = tf.tensor4d([-500, 0, 500], [1, 1, 1, 3]);
    expect(Array.from(clampToPixels(x, b).dataSync())).toEqual([-104, 0, 255 - 123]);
  });

  it('real Fourier basis is orthonormal (odd and even sizes)', () => {
    for (const n of [7, 8]) {
      const { basis, freq } = realFourierBasis(n);
      expect(freq.length).toBe(n);
      for (let a = 0; a < n; a++)
        for (let b = 0; b < n; b++) {
          let dot = 0;
          for (let i = 0; i < n; i++) dot += basis[i * n + a] * basis[i * n + b];
          expect(dot).toBeCloseTo(a === b ? 1 : 0, 5);
        }
    }
  });

  it('colour matrix columns have max norm 1', () => {
    const m = colorMatrix();
    const norms = [0, 1, 2].map((c) => Math.hypot(m[0][c], m[1][c], m[2][c]));
    expect(Math.max(...norms)).toBeCloseTo(1, 6);
  });
});
