import type { Pair, ReceptiveField } from './types.ts';

/**
 * Receptive fields, computed from the graph (no per-network tables). For a blob, unit (y, x) sees
 * input rows [offset + y*stride, offset + y*stride + size) and likewise for columns; the region may
 * extend past the image borders (padding), callers clip it.
 *
 * Fully connected outputs (and any other 1-D blob) see the whole image: size = stride = input size,
 * offset 0, so "the patch of a fc unit" is simply the whole input image.
 */

/** The input blob itself: one pixel per unit. */
export function pixelRf(): ReceptiveField {
  return { size: [1, 1], stride: [1, 1], offset: [0, 0] };
}

/** A 1-D blob (fc output, flatten): the whole input image. */
export function wholeImageRf(inputSize: Pair): ReceptiveField {
  return { size: [inputSize[0], inputSize[1]], stride: [inputSize[0], inputSize[1]], offset: [0, 0] };
}

/**
 * A sliding window (convolution or pooling) over a blob with field `rf`.
 * `kernel` is the effective extent (dilation applied: d*(k-1)+1).
 */
export function windowRf(rf: ReceptiveField, kernel: Pair, stride: Pair, pad: Pair): ReceptiveField {
  const axis = (i: 0 | 1) => ({
    size: rf.size[i] + (kernel[i] - 1) * rf.stride[i],
    stride: rf.stride[i] * stride[i],
    offset: rf.offset[i] - pad[i] * rf.stride[i],
  });
  const h = axis(0);
  const w = axis(1);
  return { size: [h.size, w.size], stride: [h.stride, w.stride], offset: [h.offset, w.offset] };
}

/**
 * Several blobs merged position by position (Concat over channels, Eltwise): the union of their
 * fields. Their strides are equal whenever the spatial sizes agree (as Concat/Eltwise require);
 * the first one's is kept.
 */
export function unionRf(rfs: ReceptiveField[]): ReceptiveField {
  const axis = (i: 0 | 1) => {
    const start = Math.min(...rfs.map((r) => r.offset[i]));
    const end = Math.max(...rfs.map((r) => r.offset[i] + r.size[i]));
    return { size: end - start, offset: start };
  };
  const h = axis(0);
  const w = axis(1);
  return { size: [h.size, w.size], stride: [rfs[0].stride[0], rfs[0].stride[1]], offset: [h.offset, w.offset] };
}
