/** Gradient maps as legible images: robust scaling of the signed view, the heat view over the patch. */
import { describe, expect, it } from 'vitest';
import { absPercentile, heatMapImage, pixelStd, signedMapImage } from '../../pipeline/image/maps.ts';

/** 32×32×3 of small noise-like values with a few huge outliers (what flattened maps to grey before). */
function spiky(): Float32Array {
  const x = new Float32Array(32 * 32 * 3);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(i * 12.9898) * 0.01;
  for (const i of [5, 700, 2000]) x[i] = 5;
  return x;
}

describe('gradient map images', () => {
  it('a few outliers no longer flatten the map: clipped at the 98th percentile (given explicitly), the rest spans the range', () => {
    const x = spiky();
    const { rgb, scale } = signedMapImage(x, 32, 32, 'RGB', 0.98);
    expect(scale.max).toBe(5);
    expect(scale.clip).toBeCloseTo(absPercentile(x, 0.98), 6);
    expect(scale.clip).toBeLessThan(0.011);
    expect(pixelStd(rgb)).toBeGreaterThan(0.2);
    // max-|value| scaling, for comparison: nearly uniform grey
    const flat = new Uint8Array(x.length).map((_, i) => Math.round(127.5 + (x[i] * 127.5) / 5));
    expect(pixelStd(flat)).toBeLessThan(0.02);
  });

  it('zero is mid-grey, signs go opposite ways, channels follow the network order', () => {
    const x = new Float32Array([1, 0, -1, 0, 0, 0]); // 1×2 BGR: pixel 0 has B=+1, R=−1
    const { rgb } = signedMapImage(x, 1, 2, 'BGR', 1);
    expect([...rgb]).toEqual([0, 128, 255, 128, 128, 128]);
    expect([...signedMapImage(new Float32Array(6), 1, 2, 'RGB').rgb]).toEqual([128, 128, 128, 128, 128, 128]);
  });

  it('the heat view is the per-pixel norm: strong pixels bright, the patch dimmed where the map is 0', () => {
    const x = new Float32Array(2 * 3);
    x.set([3, 4, 0], 0); // norm 5 at pixel 0, 0 at pixel 1
    const patch = new Uint8Array([200, 200, 200, 200, 200, 200]);
    const { rgb, scale } = heatMapImage(x, patch, 1, 2, 1);
    expect(scale).toEqual({ clip: 5, max: 5 });
    expect([...rgb.subarray(0, 3)]).toEqual([255, 255, 255]);
    expect([...rgb.subarray(3)]).toEqual([70, 70, 70]);
  });
});

describe('image descriptors for the seeds’ agreement', async () => {
  const { cosine, encodeFeatures, meanPairwise } = await import('../../pipeline/content/features.ts');
  it('cosine similarity survives the int8 quantisation to about 1 %', () => {
    const a = Array.from({ length: 512 }, (_, i) => Math.sin(i) + 1.2);
    const b = a.map((v, i) => v + 0.5 * Math.cos(i * 7));
    let xy = 0;
    let xx = 0;
    let yy = 0;
    for (let i = 0; i < a.length; i++) {
      xy += a[i] * b[i];
      xx += a[i] * a[i];
      yy += b[i] * b[i];
    }
    const exact = xy / Math.sqrt(xx * yy);
    const fa = encodeFeatures('pool5', a);
    const fb = encodeFeatures('pool5', b);
    expect(Math.abs(cosine(fa, fb) - exact)).toBeLessThan(0.01);
    expect(cosine(fa, fa)).toBeCloseTo(1, 3);
    expect(cosine(fa, encodeFeatures('other', b))).toBeNaN();
    expect(meanPairwise([fa])).toBeUndefined();
    expect(meanPairwise([fa, fb, fa])).toBeCloseTo((2 * cosine(fa, fb) + 1) / 3, 6);
  });
});
