/**
 * Browser image input → the network's input, exactly as the pipeline (pipeline/image/decode.ts)
 * prepares it: decode (the browser's decoder; EXIF orientation and embedded colour profiles applied,
 * as sharp does) → transparency flattened onto white → resize to `preprocess.resize` ignoring the
 * aspect ratio with the pipeline's kernel (./resize.ts) → centre crop to `preprocess.size` →
 * channel order, (pixel × scale − mean) / std.
 */
import type { Preprocess } from '../../pipeline/graph/types.ts';
import type { ResizeMethod } from '../../pipeline/export/format.ts';
import { RESIZE_KERNELS, resize, resizeCropBilinear, type Pixels, type ResizeKernel } from './resize.ts';

export interface Prepared {
  /** The cropped RGB the network sees (for display), size = preprocess.size. */
  rgb: Pixels;
  /** HWC float32 in the network's channel order, preprocessed. */
  input: Float32Array;
}

/** Refuses a resize this page cannot reproduce (an export from a newer pipeline). */
export function checkResize(r: ResizeMethod | undefined): ResizeMethod {
  if (r?.method === 'bilinear') return r;
  if (r?.method === 'libvips' && (RESIZE_KERNELS as readonly string[]).includes(r.kernel)) return r;
  throw new Error(`the network's resize ${JSON.stringify(r)} is not supported by this page`);
}

/** RGBA (canvas ImageData) → RGB, alpha flattened onto white like sharp's flatten. */
export function rgbaToRgb(rgba: Uint8ClampedArray | Uint8Array, width: number, height: number): Pixels {
  const n = width * height;
  const out = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = rgba[i * 4 + 3];
    for (let c = 0; c < 3; c++) {
      const v = rgba[i * 4 + c];
      out[i * 3 + c] = a === 255 ? v : Math.round((v * a + 255 * (255 - a)) / 255);
    }
  }
  return { data: out, width, height, channels: 3 };
}

let scratch: OffscreenCanvas | HTMLCanvasElement | undefined;
function canvas(w: number, h: number): CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D {
  if (!scratch) scratch = typeof OffscreenCanvas !== 'undefined' ? new OffscreenCanvas(w, h) : document.createElement('canvas');
  if (scratch.width !== w) scratch.width = w;
  if (scratch.height !== h) scratch.height = h;
  const ctx = scratch.getContext('2d', { willReadFrequently: true, colorSpace: 'srgb' } as CanvasRenderingContext2DSettings);
  if (!ctx) throw new Error('this browser has no 2D canvas');
  return ctx as CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;
}

/** Pixels of anything drawable at its own size (an ImageBitmap, a video frame). */
export function drawablePixels(src: CanvasImageSource, width: number, height: number): Pixels {
  const ctx = canvas(width, height);
  ctx.clearRect(0, 0, width, height);
  ctx.drawImage(src, 0, 0, width, height);
  return rgbaToRgb(ctx.getImageData(0, 0, width, height).data, width, height);
}

/** Decodes an image file (JPEG, PNG, WebP, GIF, AVIF… whatever the browser reads) to RGB. */
export async function decodeFile(file: Blob): Promise<Pixels> {
  let bmp: ImageBitmap;
  try {
    bmp = await createImageBitmap(file, { premultiplyAlpha: 'none', colorSpaceConversion: 'default', imageOrientation: 'from-image' });
  } catch {
    throw new Error('cannot decode this file as an image');
  }
  try {
    return drawablePixels(bmp, bmp.width, bmp.height);
  } finally {
    bmp.close();
  }
}

/** Centre-crop offsets (top, left), Caffe's floor((resize − size) / 2). */
export function cropOffset(p: Pick<Preprocess, 'size' | 'resize'>): [number, number] {
  return [Math.floor((p.resize[0] - p.size[0]) / 2), Math.floor((p.resize[1] - p.size[1]) / 2)];
}

export function crop(src: Pixels, top: number, left: number, h: number, w: number): Pixels {
  const ch = src.channels;
  const out = new Uint8Array(w * h * ch);
  for (let y = 0; y < h; y++) {
    const from = ((top + y) * src.width + left) * ch;
    out.set(src.data.subarray(from, from + w * ch), y * w * ch);
  }
  return { data: out, width: w, height: h, channels: ch };
}

/** 8-bit RGB → network input (the formula of pipeline/image/decode.ts rgbToInput). */
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
    out[i * 3] = ((bgr ? b : r) * k - m0) / s0;
    out[i * 3 + 1] = (g * k - m1) / s1;
    out[i * 3 + 2] = ((bgr ? r : b) * k - m2) / s2;
  }
  return out;
}

export function prepare(src: Pixels, p: Preprocess, how: ResizeMethod): Prepared {
  const [rh, rw] = p.resize;
  const [h, w] = p.size;
  const [top, left] = cropOffset(p);
  let rgb: Pixels;
  if (how.method === 'bilinear') rgb = resizeCropBilinear(src, { resize: [rh, rw], top, left, size: [h, w] });
  else {
    const resized = src.width === rw && src.height === rh ? src : resize(src, rw, rh, how.kernel as ResizeKernel);
    rgb = rh === h && rw === w ? resized : crop(resized, top, left, h, w);
  }
  return { rgb, input: rgbToInput(rgb.data, p) };
}
