/**
 * Pure pixel arithmetic of the network's preprocessing (no sharp, no Node APIs), shared by the
 * pipeline (pipeline/image/decode.ts) and the browser probe page (site/probe/), so both compute
 * the same input from the same decoded pixels.
 */
import type { Preprocess } from '../graph/types.ts';

/** Centre-crop offsets (top, left) of `size` inside `resize`, as Caffe computes them (integer floor). */
export function cropOffset(p: Pick<Preprocess, 'size' | 'resize'>): [number, number] {
  return [Math.floor((p.resize[0] - p.size[0]) / 2), Math.floor((p.resize[1] - p.size[1]) / 2)];
}

/**
 * 8-bit RGB (HWC) → network input (HWC float32): channel order of the network,
 * value = (pixel × scale − mean[c]) / std[c].
 */
export function rgbToInput(rgb: Uint8Array | Uint8ClampedArray, p: Pick<Preprocess, 'channelOrder' | 'mean' | 'std' | 'scale'>): Float32Array {
  const n = rgb.length / 3;
  const out = new Float32Array(rgb.length);
  const bgr = p.channelOrder === 'BGR';
  const [m0, m1, m2] = p.mean;
  const [s0, s1, s2] = p.std;
  const k = p.scale;
  for (let i = 0; i < n; i++) {
    const r = rgb[i * 3];
    const g = rgb[i * 3 + 1];
    const b = rgb[i * 3 + 2];
    const c0 = bgr ? b : r;
    const c2 = bgr ? r : b;
    out[i * 3] = (c0 * k - m0) / s0;
    out[i * 3 + 1] = (g * k - m1) / s1;
    out[i * 3 + 2] = (c2 * k - m2) / s2;
  }
  return out;
}

/**
 * Bilinear resize of 8-bit pixels (`channels` per pixel; the first 3 used, or the first replicated
 * when there are fewer) to `resize` [h, w], returning only the window `size` at (top, left), as
 * 8-bit RGB. OpenCV INTER_LINEAR convention: source coordinate = (dst + 0.5) · scale − 0.5,
 * clamped to the image; no antialiasing.
 */
export function resizeCropBilinear(
  src: Uint8Array | Uint8ClampedArray,
  sw: number,
  sh: number,
  channels: number,
  win: { resize: [number, number]; top: number; left: number; size: [number, number] },
): Uint8Array {
  const [h, w] = win.size;
  const fy = sh / win.resize[0];
  const fx = sw / win.resize[1];
  const taps = (dst: number, f: number, n: number): [number, number, number] => {
    const s = (dst + 0.5) * f - 0.5;
    let i0 = Math.floor(s);
    let t = s - i0;
    if (i0 < 0) {
      i0 = 0;
      t = 0;
    }
    if (i0 >= n - 1) {
      i0 = n - 1;
      t = 0;
    }
    return [i0, Math.min(i0 + 1, n - 1), t];
  };
  // Per output column: byte offsets of the two source pixels and the weight of the second.
  const xa = new Int32Array(w);
  const xb = new Int32Array(w);
  const xt = new Float64Array(w);
  for (let x = 0; x < w; x++) {
    const [x0, x1, t] = taps(x + win.left, fx, sw);
    xa[x] = x0 * channels;
    xb[x] = x1 * channels;
    xt[x] = t;
  }
  const [c0, c1, c2] = channels >= 3 ? [0, 1, 2] : [0, 0, 0];
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    const [y0, y1, ty] = taps(y + win.top, fy, sh);
    const r0 = y0 * sw * channels;
    const r1 = y1 * sw * channels;
    let o = y * w * 3;
    for (let x = 0; x < w; x++, o += 3) {
      const tx = xt[x];
      const a = r0 + xa[x];
      const b = r0 + xb[x];
      const d = r1 + xa[x];
      const e = r1 + xb[x];
      let u = src[a + c0] + tx * (src[b + c0] - src[a + c0]);
      let v = src[d + c0] + tx * (src[e + c0] - src[d + c0]);
      out[o] = u + ty * (v - u) + 0.5;
      u = src[a + c1] + tx * (src[b + c1] - src[a + c1]);
      v = src[d + c1] + tx * (src[e + c1] - src[d + c1]);
      out[o + 1] = u + ty * (v - u) + 0.5;
      u = src[a + c2] + tx * (src[b + c2] - src[a + c2]);
      v = src[d + c2] + tx * (src[e + c2] - src[d + c2]);
      out[o + 2] = u + ty * (v - u) + 0.5;
    }
  }
  return out;
}
