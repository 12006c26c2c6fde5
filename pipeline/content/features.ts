/**
 * A compact image descriptor kept in an optimised image's record: the model's penultimate
 * features of the image (averaged over positions), L2-normalised and quantised to int8, base64.
 * Enough for cosine similarities to about 1 %: the seeds of a unit agree when their images look
 * alike to the model itself (site badge "seed agreement").
 */
export interface ImageFeatures {
  /** The blob the features come from. */
  blob: string;
  /** base64 of int8 values (v / ‖v‖ · 127). */
  q: string;
}

export function encodeFeatures(blob: string, v: ArrayLike<number>): ImageFeatures {
  let n = 0;
  for (let i = 0; i < v.length; i++) n += v[i] * v[i];
  const s = n > 0 ? 127 / Math.sqrt(n) : 0;
  const q = new Int8Array(v.length);
  for (let i = 0; i < v.length; i++) q[i] = Math.max(-127, Math.min(127, Math.round(v[i] * s)));
  return { blob, q: Buffer.from(q.buffer).toString('base64') };
}

function decode(f: ImageFeatures): Int8Array {
  const b = Buffer.from(f.q, 'base64');
  return new Int8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Cosine similarity of two descriptors of the same blob (NaN when they cannot be compared). */
export function cosine(a: ImageFeatures, b: ImageFeatures): number {
  if (a.blob !== b.blob) return Number.NaN;
  const x = decode(a);
  const y = decode(b);
  if (x.length !== y.length) return Number.NaN;
  let xy = 0;
  let xx = 0;
  let yy = 0;
  for (let i = 0; i < x.length; i++) {
    xy += x[i] * y[i];
    xx += x[i] * x[i];
    yy += y[i] * y[i];
  }
  return xx > 0 && yy > 0 ? xy / Math.sqrt(xx * yy) : Number.NaN;
}

/** Mean pairwise cosine similarity of several images' descriptors; undefined for fewer than two. */
export function meanPairwise(fs: ImageFeatures[]): number | undefined {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < fs.length; i++)
    for (let j = i + 1; j < fs.length; j++) {
      const c = cosine(fs[i], fs[j]);
      if (!Number.isNaN(c)) {
        sum += c;
        n++;
      }
    }
  return n ? sum / n : undefined;
}
