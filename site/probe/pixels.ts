/**
 * Browser image input → the network's input, exactly as the pipeline (pipeline/image/decode.ts)
 * prepares it: decode (the browser's decoder; EXIF orientation and embedded colour profiles applied,
 * as sharp does) → transparency flattened onto white → resize to `preprocess.resize` ignoring the
 * aspect ratio with the pipeline's kernel (./resize.ts) → centre crop to `preprocess.size` →
 * channel order, (pixel × scale − mean) / std.
 */
import type { Preprocess } from '../../pipeline/graph/types.ts';
import type { ResizeMethod } from '../../pipeline/site/export/format.ts';
import { RESIZE_KERNELS, resize, type Pixels, type ResizeKernel } from './resize.ts';
import { cropOffset, resizeCropBilinear as resizeCropRgb, rgbToInput } from '../../pipeline/image/pixels.ts';

export { cropOffset, rgbToInput };

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

export function crop(src: Pixels, top: number, left: number, h: number, w: number): Pixels {
  const ch = src.channels;
  const out = new Uint8Array(w * h * ch);
  for (let y = 0; y < h; y++) {
    const from = ((top + y) * src.width + left) * ch;
    out.set(src.data.subarray(from, from + w * ch), y * w * ch);
  }
  return { data: out, width: w, height: h, channels: ch };
}

export function prepare(src: Pixels, p: Preprocess, how: ResizeMethod): Prepared {
  const [rh, rw] = p.resize;
  const [h, w] = p.size;
  const [top, left] = cropOffset(p);
  let rgb: Pixels;
  if (how.method === 'bilinear')
    rgb = {
      data: resizeCropRgb(src.data, src.width, src.height, src.channels, { resize: [rh, rw], top, left, size: [h, w] }),
      width: w,
      height: h,
      channels: 3,
    };
  else {
    const resized = src.width === rw && src.height === rh ? src : resize(src, rw, rh, how.kernel as ResizeKernel);
    rgb = rh === h && rw === w ? resized : crop(resized, top, left, h, w);
  }
  return { rgb, input: rgbToInput(rgb.data, p) };
}
