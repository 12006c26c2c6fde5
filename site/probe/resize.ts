/**
 * The pipeline's resizes, in plain TypeScript for the browser, so that the probe feeds the network
 * the same pixels as `deepvis classify` (which resize applies is recorded in the exported model,
 * pipeline/site/export/export.ts pipelineResize()):
 *   (the pipeline's own bilinear resize is shared code: pipeline/image/pixels.ts);
 *   - resize: sharp 0.34 / libvips 8.17 `resize(w, h, { fit: 'fill', kernel })` on 8-bit pixels,
 *     reproduced operation by operation: vips_reducev then vips_reduceh (kernel stretched by the
 *     shrink factor, "gap 2" integer box pre-shrink from a factor of 4, centre convention, 64-step
 *     coefficient tables, 12-bit fixed point, edges repeated), and vips_affine with the bilinear or
 *     bicubic interpolator for an axis that grows. Not reproduced: libjpeg's shrink-on-load that
 *     sharp applies to JPEGs at least 3× larger than the target.
 */

export interface Pixels {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
  /** Interleaved channels per pixel (3 = RGB, 4 = RGBA). */
  channels: number;
}

const TRANSFORM_SCALE = 64; // VIPS_TRANSFORM_SCALE (1 << 6)
const INTERPOLATE_SHIFT = 12; // VIPS_INTERPOLATE_SHIFT
const INTERPOLATE_SCALE = 1 << INTERPOLATE_SHIFT;

/** Resampling kernels of sharp/libvips that the probe reproduces. */
export type ResizeKernel = 'linear' | 'cubic' | 'mitchell' | 'lanczos2' | 'lanczos3';
export const RESIZE_KERNELS: readonly ResizeKernel[] = ['linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3'];

/** Mitchell–Netravali cubic with parameters B, C (Catmull-Rom: 0, 0.5; Mitchell: 1/3, 1/3). */
function cubicFilter(x: number, B: number, C: number): number {
  const ax = Math.abs(x);
  const ax2 = ax * ax;
  const ax3 = ax2 * ax;
  if (ax <= 1) return ((12 - 9 * B - 6 * C) * ax3 + (-18 + 12 * B + 6 * C) * ax2 + (6 - 2 * B)) / 6;
  if (ax <= 2) return ((-B - 6 * C) * ax3 + (6 * B + 30 * C) * ax2 + (-12 * B - 48 * C) * ax + (8 * B + 24 * C)) / 6;
  return 0;
}

const sinc = (x: number) => (x === 0 ? 1 : Math.sin(x * Math.PI) / (x * Math.PI));

const FILTERS: Record<ResizeKernel, (x: number) => number> = {
  linear: (x) => {
    const a = Math.abs(x);
    return a < 1 ? 1 - a : 0;
  },
  cubic: (x) => cubicFilter(x, 0, 0.5),
  mitchell: (x) => cubicFilter(x, 1 / 3, 1 / 3),
  lanczos2: (x) => (x >= -2 && x <= 2 ? sinc(x) * sinc(x / 2) : 0),
  lanczos3: (x) => (x >= -3 && x <= 3 ? sinc(x) * sinc(x / 3) : 0),
};

/** Taps of a reduce by `shrink` (libvips 8.17 vips_reduce_get_points). */
function points(kernel: ResizeKernel, shrink: number): number {
  const r = (k: number) => 2 * Math.round(k * shrink) + 1;
  return kernel === 'linear' ? r(1) : kernel === 'lanczos3' ? r(3) : r(2);
}

/** Kernel coefficients for `n` taps at sub-pixel offset x (0–1), normalised to sum 1, as libvips builds them. */
function mask(kernel: ResizeKernel, n: number, shrink: number, x: number): Float64Array {
  const f = FILTERS[kernel];
  const c = new Float64Array(n);
  const half = x + n / 2 - 1;
  let sum = 0;
  for (let i = 0; i < n; i++) {
    c[i] = f((i - half) / shrink);
    sum += c[i];
  }
  for (let i = 0; i < n; i++) c[i] /= sum;
  return c;
}

/** Fixed-point coefficient tables: TRANSFORM_SCALE + 1 sub-pixel positions × n taps, truncated to int16. */
function maskTable(kernel: ResizeKernel, n: number, shrink: number): Int32Array[] {
  const tables: Int32Array[] = [];
  for (let t = 0; t <= TRANSFORM_SCALE; t++) {
    const f = mask(kernel, n, shrink, Math.fround(t / TRANSFORM_SCALE));
    const s = new Int32Array(n);
    for (let i = 0; i < n; i++) s[i] = Math.trunc(f[i] * INTERPOLATE_SCALE);
    tables.push(s);
  }
  return tables;
}

/** Index into the mask table for position p (round to nearest 1/64, as libvips does). */
function tableIndex(p: number): number {
  const s = Math.trunc(p * TRANSFORM_SCALE * 2);
  const si = s & (TRANSFORM_SCALE * 2 - 1);
  return (si + 1) >> 1;
}

const round12 = (sum: number) => {
  const v = (sum + (INTERPOLATE_SCALE >> 1)) >> INTERPOLATE_SHIFT;
  return Math.min(255, Math.max(0, v));
};

/** Box pre-shrink by an integer factor along rows (vertical) or columns (horizontal), libvips shrinkv/shrinkh with ceil. */
function boxShrink(src: Pixels, factor: number, vertical: boolean): Pixels {
  const { width: w, height: h, channels: ch, data } = src;
  const ow = vertical ? w : Math.ceil(w / factor);
  const oh = vertical ? Math.ceil(h / factor) : h;
  const out = new Uint8Array(ow * oh * ch);
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      for (let c = 0; c < ch; c++) {
        let sum = 0;
        for (let k = 0; k < factor; k++) {
          const sx = vertical ? x : Math.min(x * factor + k, w - 1);
          const sy = vertical ? Math.min(y * factor + k, h - 1) : y;
          sum += data[(sy * w + sx) * ch + c];
        }
        out[(y * ow + x) * ch + c] = Math.floor((sum + (factor >> 1)) / factor);
      }
    }
  }
  return { data: out, width: ow, height: oh, channels: ch };
}

/** vips_reducev / vips_reduceh with gap 2. */
function reduce(src: Pixels, shrinkIn: number, vertical: boolean, kernel: ResizeKernel): Pixels {
  const inLen = vertical ? src.height : src.width;
  const outLen = Math.floor(inLen / shrinkIn + 0.5);
  let shrink = shrinkIn;
  let extra = outLen * shrink - inLen;
  const intShrink = Math.max(1, Math.floor(inLen / outLen / 2));
  if (intShrink > 1) {
    src = boxShrink(src, intShrink, vertical);
    shrink /= intShrink;
    extra /= intShrink;
  }
  if (shrink === 1) return src;
  const n = points(kernel, shrink);
  const offset = (1 + extra) / 2 - 1;
  const table = maskTable(kernel, n, shrink);
  const pad = Math.ceil(n / 2) - 1; // edge pixels repeated before the first sample
  const { width: w, height: h, channels: ch, data } = src;
  const len = vertical ? h : w;
  const ow = vertical ? w : outLen;
  const oh = vertical ? outLen : h;
  const out = new Uint8Array(ow * oh * ch);
  // Per output position along the axis: first input index (clamped per tap) and coefficients.
  for (let o = 0; o < outLen; o++) {
    const P = (o + 0.5) * shrink - 0.5 - offset;
    const ip = Math.trunc(P);
    const coef = table[tableIndex(P)];
    const idx = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const j = ip + i - pad;
      idx[i] = j < 0 ? 0 : j >= len ? len - 1 : j;
    }
    if (vertical) {
      const orow = o * w * ch;
      for (let x = 0; x < w * ch; x++) {
        let sum = 0;
        for (let i = 0; i < n; i++) sum += coef[i] * data[idx[i] * w * ch + x];
        out[orow + x] = round12(sum);
      }
    } else {
      for (let y = 0; y < h; y++) {
        const row = y * w * ch;
        const orow = y * ow * ch + o * ch;
        for (let c = 0; c < ch; c++) {
          let sum = 0;
          for (let i = 0; i < n; i++) sum += coef[i] * data[row + idx[i] * ch + c];
          out[orow + c] = round12(sum);
        }
      }
    }
  }
  return { data: out, width: ow, height: oh, channels: ch };
}

/** Sample position along an enlarged axis: output o ↦ input o / scale − 0.5 (vips_affine, idx 0.5). */
function enlargePos(o: number, scale: number): number {
  return o / scale - 0.5;
}

const clampIndex = (i: number, n: number) => (i < 0 ? 0 : i >= n ? n - 1 : i);

/** Upsizing with libvips' bilinear interpolator (float weights → 12-bit integers), edges repeated. */
function enlargeBilinear(src: Pixels, outW: number, outH: number): Pixels {
  const { width: w, height: h, channels: ch, data } = src;
  const tap = (o: number, scale: number, n: number): [number, number, number] => {
    const f = Math.min(Math.max(enlargePos(o, scale), 0), n - 1);
    const i = Math.min(Math.trunc(f), n - 1);
    return [i, Math.min(i + 1, n - 1), Math.fround(f - i)];
  };
  const out = new Uint8Array(outW * outH * ch);
  const xs = Array.from({ length: outW }, (_, x) => tap(x, outW / w, w));
  for (let y = 0; y < outH; y++) {
    const [iy, iy1, Y] = tap(y, outH / h, h);
    const Yd = Math.fround(1 - Y);
    for (let x = 0; x < outW; x++) {
      const [ix, ix1, X] = xs[x];
      const f4 = Math.fround(Y * X);
      const f2 = Math.fround(Yd * X);
      const c1 = Math.trunc(INTERPOLATE_SCALE * Math.fround(Yd - f2));
      const c2 = Math.trunc(INTERPOLATE_SCALE * f2);
      const c3 = Math.trunc(INTERPOLATE_SCALE * Math.fround(Y - f4));
      const c4 = INTERPOLATE_SCALE - c1 - c2 - c3;
      const p1 = (iy * w + ix) * ch;
      const p2 = (iy * w + ix1) * ch;
      const p3 = (iy1 * w + ix) * ch;
      const p4 = (iy1 * w + ix1) * ch;
      const q = (y * outW + x) * ch;
      for (let c = 0; c < ch; c++) {
        out[q + c] = round12(c1 * data[p1 + c] + c2 * data[p2 + c] + c3 * data[p3 + c] + c4 * data[p4 + c]);
      }
    }
  }
  return { data: out, width: outW, height: outH, channels: ch };
}

/** Catmull-Rom weights at offset x (0–1), as libvips' calculate_coefficients_catmull. */
function catmull(x: number): [number, number, number, number] {
  const cr1 = 1 - x;
  const cr2 = -0.5 * x;
  const cr3 = cr1 * cr2;
  const cone = cr1 * cr3;
  const cfou = x * cr3;
  const cr4 = cfou - cone;
  const ctwo = cr1 - cone + cr4;
  const cthr = x - cfou - cr4;
  return [cone, ctwo, cthr, cfou];
}

const CATMULL_TABLE: Int32Array[] = Array.from({ length: TRANSFORM_SCALE + 1 }, (_, t) =>
  Int32Array.from(catmull(Math.fround(t / TRANSFORM_SCALE)), (c) => Math.trunc(c * INTERPOLATE_SCALE)),
);

/** Upsizing with libvips' bicubic interpolator (Catmull-Rom, 64-step tables, rows then column, 12-bit fixed point). */
function enlargeBicubic(src: Pixels, outW: number, outH: number): Pixels {
  const { width: w, height: h, channels: ch, data } = src;
  const tap = (o: number, scale: number, n: number): [Int32Array, Int32Array] => {
    const f = enlargePos(o, scale);
    const i = Math.floor(f);
    const idx = Int32Array.from([i - 1, i, i + 1, i + 2], (j) => clampIndex(j, n));
    return [idx, CATMULL_TABLE[tableIndex(f - i)]];
  };
  const out = new Uint8Array(outW * outH * ch);
  const xs = Array.from({ length: outW }, (_, x) => tap(x, outW / w, w));
  const r = new Int32Array(4);
  for (let y = 0; y < outH; y++) {
    const [iy, cy] = tap(y, outH / h, h);
    for (let x = 0; x < outW; x++) {
      const [ix, cx] = xs[x];
      const q = (y * outW + x) * ch;
      for (let c = 0; c < ch; c++) {
        for (let k = 0; k < 4; k++) {
          const row = iy[k] * w;
          const s =
            cx[0] * data[(row + ix[0]) * ch + c] +
            cx[1] * data[(row + ix[1]) * ch + c] +
            cx[2] * data[(row + ix[2]) * ch + c] +
            cx[3] * data[(row + ix[3]) * ch + c];
          r[k] = (s + (INTERPOLATE_SCALE >> 1)) >> INTERPOLATE_SHIFT;
        }
        out[q + c] = round12(cy[0] * r[0] + cy[1] * r[1] + cy[2] * r[2] + cy[3] * r[3]);
      }
    }
  }
  return { data: out, width: outW, height: outH, channels: ch };
}

/** sharp `resize(outW, outH, { fit: 'fill', kernel })` of 8-bit pixels. */
export function resize(src: Pixels, outW: number, outH: number, kernel: ResizeKernel): Pixels {
  let img = src;
  const hshrink = src.width / outW;
  const vshrink = src.height / outH;
  if (vshrink > 1) img = reduce(img, vshrink, true, kernel);
  if (hshrink > 1) img = reduce(img, hshrink, false, kernel);
  if (img.width !== outW || img.height !== outH) img = kernel === 'linear' ? enlargeBilinear(img, outW, outH) : enlargeBicubic(img, outW, outH);
  return img;
}
