import sharp from 'sharp';
import type { Preprocess } from '../graph/types.ts';

/** Encodes 8-bit RGB pixels (row-major, 3 channels) as WebP. Deterministic for the same pixels. */
export async function encodeWebp(rgb: Uint8Array, width: number, height: number, quality = 90): Promise<Buffer> {
  return sharp(Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength), { raw: { width, height, channels: 3 } })
    .webp({ quality, effort: 2 })
    .toBuffer();
}

/**
 * Turns one preprocessed network input (HWC float, network channel order, mean-subtracted) back
 * into displayable 8-bit RGB: undo std/mean/scale, reorder channels, clamp to 0–255.
 */
export function deprocessToRgb(x: Float32Array | ArrayLike<number>, height: number, width: number, p: Preprocess): Uint8Array {
  const out = new Uint8Array(height * width * 3);
  const bgr = p.channelOrder === 'BGR';
  for (let i = 0; i < height * width; i++) {
    for (let c = 0; c < 3; c++) {
      const v = (x[i * 3 + c] * p.std[c] + p.mean[c]) / p.scale;
      const dst = bgr ? 2 - c : c;
      out[i * 3 + dst] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return out;
}
