import type { BlobInfo } from '../../graph/types.ts';

/**
 * Receptive-field windows and crops. A conv unit at blob position (y, x) sees input rows
 * [offset + y·stride, offset + y·stride + size) and likewise columns; the window may leave the
 * image, and what lies outside is zero in the cropped map (in the preprocessed input that is the
 * mean colour, as the toolbox shows it). fc units, and units of 1×1 blobs (global pooling), get
 * the whole image.
 */
export interface Window {
  top: number;
  left: number;
  height: number;
  width: number;
}

export function isSpatial(blob: BlobInfo): boolean {
  return blob.shape.length === 3;
}

/** Number of units (channels) of a blob. */
export function unitCount(blob: BlobInfo): number {
  return blob.shape[0];
}

/** The window seen by the unit at flat position `pos` (= y·W + x) of `blob`, on an input of `inH`×`inW`. */
export function unitWindow(blob: BlobInfo, pos: number, inH: number, inW: number): Window {
  // fc units, units of a 1×1 blob (global pooling) whose field spans the image anyway, and units
  // whose every position sees the whole image (graph/receptive-field.ts wholeImageRf: a
  // transformer's tokens after attention): the whole image, wherever the unit is.
  const { size, stride, offset } = blob.rf;
  const everywhere = size[0] === inH && size[1] === inW && stride[0] === inH && stride[1] === inW && offset[0] === 0 && offset[1] === 0;
  if (!isSpatial(blob) || (blob.shape[1] === 1 && blob.shape[2] === 1) || everywhere) return { top: 0, left: 0, height: inH, width: inW };
  const W = blob.shape[2];
  const y = Math.floor(pos / W);
  const x = pos % W;
  return { top: offset[0] + y * stride[0], left: offset[1] + x * stride[1], height: size[0], width: size[1] };
}

/** (y, x) of a flat position in a blob (0, 0 for fc blobs). */
export function positionYX(blob: BlobInfo, pos: number): { y: number; x: number } {
  if (!isSpatial(blob)) return { y: 0, x: 0 };
  const W = blob.shape[2];
  return { y: Math.floor(pos / W), x: pos % W };
}

/**
 * Cuts `win` out of an H×W×C (row-major, channels last) map; cells outside the map are 0.
 */
export function cropZeroPadded(src: ArrayLike<number>, H: number, W: number, C: number, win: Window): Float32Array {
  const out = new Float32Array(win.height * win.width * C);
  const y0 = Math.max(0, win.top);
  const y1 = Math.min(H, win.top + win.height);
  const x0 = Math.max(0, win.left);
  const x1 = Math.min(W, win.left + win.width);
  for (let y = y0; y < y1; y++) {
    const srow = y * W * C;
    const drow = (y - win.top) * win.width * C;
    for (let x = x0; x < x1; x++) {
      const s = srow + x * C;
      const d = drow + (x - win.left) * C;
      for (let c = 0; c < C; c++) out[d + c] = src[s + c];
    }
  }
  return out;
}

/** Largest |value| of an H×W×C map outside `win` (0 when the window covers the map). */
export function maxAbsOutside(src: ArrayLike<number>, H: number, W: number, C: number, win: Window): number {
  let m = 0;
  for (let y = 0; y < H; y++) {
    const inY = y >= win.top && y < win.top + win.height;
    for (let x = 0; x < W; x++) {
      if (inY && x >= win.left && x < win.left + win.width) continue;
      for (let c = 0; c < C; c++) m = Math.max(m, Math.abs(src[(y * W + x) * C + c]));
    }
  }
  return m;
}
