/**
 * Gradient maps (deconv, backprop, guided) as images that read at a glance. Scaling by the largest
 * |value| lets a few outlier pixels flatten the rest into grey (measured on a GoogLeNet
 * inception_4c unit: values spanning 0.11–0.89 of the range, standard deviation 0.014), so:
 *
 * - the signed view clips |g| at a high percentile of the map (default 95th) and stretches that
 *   to the full range around grey: 0 → mid-grey, +clip → white-ish in that colour channel;
 * - the heat view (the toolbox's other display) is the per-pixel norm over the channels, scaled
 *   the same way, in a black → red → yellow → white ramp blended over the patch's luminance, so
 *   where the unit looked is seen on the image itself.
 *
 * Both report the raw scale (clip and maximum) so the record keeps what the 8-bit image drops.
 */

/** How much an 8-bit image varies: the standard deviation of its values on the 0–1 scale (0 for uniform grey). */
export function pixelStd(data: ArrayLike<number>): number {
  let s = 0;
  let s2 = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i] / 255;
    s += v;
    s2 += v * v;
  }
  const n = data.length;
  return n ? Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2)) : 0;
}

/** The value at fraction `q` (0–1) of the sorted |values| (nearest rank); 0 for an empty map. */
export function absPercentile(x: ArrayLike<number>, q: number): number {
  const a = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) a[i] = Math.abs(x[i]);
  if (a.length === 0) return 0;
  a.sort();
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil(q * a.length) - 1))];
}

export interface MapScale {
  /** |value| mapped to the end of the range (the percentile; larger values are clipped). */
  clip: number;
  /** Largest |value| of the raw map. */
  max: number;
}

/** Default percentile of |g| that spans the display range. */
export const MAP_PERCENTILE = 0.95;

function maxAbs(x: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    const v = Math.abs(x[i]);
    if (v > m) m = v;
  }
  return m;
}

/**
 * A signed map (HWC float, network channel order) as 8-bit RGB centred at grey, ±clip spanning
 * the range. An all-zero map is plain grey with clip 0.
 */
export function signedMapImage(
  x: ArrayLike<number>,
  height: number,
  width: number,
  channelOrder: 'BGR' | 'RGB',
  q = MAP_PERCENTILE,
): { rgb: Uint8Array; scale: MapScale } {
  const max = maxAbs(x);
  let clip = absPercentile(x, q);
  if (!(clip > 0)) clip = max;
  const s = clip > 0 ? 127.5 / clip : 0;
  const out = new Uint8Array(height * width * 3);
  for (let i = 0; i < height * width; i++) {
    for (let c = 0; c < 3; c++) {
      const dst = channelOrder === 'BGR' ? 2 - c : c;
      const v = 127.5 + x[i * 3 + c] * s;
      out[i * 3 + dst] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return { rgb: out, scale: { clip, max } };
}

/** Black → dark red → red → yellow → white, t in 0–1. */
const RAMP: [number, number, number, number][] = [
  [0, 0, 0, 0],
  [0.25, 120, 0, 10],
  [0.5, 230, 40, 0],
  [0.75, 255, 200, 0],
  [1, 255, 255, 255],
];

function ramp(t: number, out: Uint8Array, o: number): void {
  let k = 1;
  while (k < RAMP.length - 1 && t > RAMP[k][0]) k++;
  const [t0, r0, g0, b0] = RAMP[k - 1];
  const [t1, r1, g1, b1] = RAMP[k];
  const f = t1 > t0 ? Math.min(1, Math.max(0, (t - t0) / (t1 - t0))) : 0;
  out[o] = Math.round(r0 + (r1 - r0) * f);
  out[o + 1] = Math.round(g0 + (g1 - g0) * f);
  out[o + 2] = Math.round(b0 + (b1 - b0) * f);
}

/**
 * The per-pixel norm of a map (HWC, 3 channels) as a heat ramp over the patch (8-bit RGB of the
 * same window): each pixel blends the patch's dimmed luminance with the ramp colour by the
 * pixel's normalised strength.
 */
export function heatMapImage(
  x: ArrayLike<number>,
  patchRgb: Uint8Array,
  height: number,
  width: number,
  q = MAP_PERCENTILE,
): { rgb: Uint8Array; scale: MapScale } {
  const n = new Float32Array(height * width);
  for (let i = 0; i < n.length; i++) n[i] = Math.hypot(x[i * 3], x[i * 3 + 1], x[i * 3 + 2]);
  const max = maxAbs(n);
  let clip = absPercentile(n, q);
  if (!(clip > 0)) clip = max;
  const out = new Uint8Array(height * width * 3);
  const colour = new Uint8Array(3);
  for (let i = 0; i < n.length; i++) {
    const t = clip > 0 ? Math.min(1, n[i] / clip) : 0;
    ramp(t, colour, 0);
    const lum = 0.35 * (0.299 * patchRgb[i * 3] + 0.587 * patchRgb[i * 3 + 1] + 0.114 * patchRgb[i * 3 + 2]);
    const a = Math.sqrt(t);
    for (let c = 0; c < 3; c++) out[i * 3 + c] = Math.round(lum * (1 - a) + colour[c] * a);
  }
  return { rgb: out, scale: { clip, max } };
}
