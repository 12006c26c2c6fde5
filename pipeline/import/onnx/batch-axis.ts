/**
 * Where the batch sits in an ONNX tensor. deepvis holds every blob per image with the batch
 * first; exporters sometimes move the batch inside a computation that still treats images
 * independently — torchvision's attention runs on [T, N, C], splits heads into [N·H, T, d] and
 * projects [T·N, C]. The importer follows the batch through such views: an ONNX tensor is a blob
 * (its per-image values, in row-major order with the batch factor removed) plus a `BatchAt`.
 *
 * - own axis `axis`: ONNX dims = shape[0..axis) ++ [N] ++ shape[axis..);
 * - merged into ONNX axis `axis`: that axis has N·shape[axis] entries, the batch a factor of it
 *   with `inner` entries of the axis below it (index = outer·N·inner + n·inner + i).
 */

export interface BatchAt {
  axis: number;
  merged: boolean;
  /** Merged: the number of entries of the axis below the batch factor. */
  inner: number;
}

export const FRONT: BatchAt = { axis: 0, merged: false, inner: 1 };

export const isFront = (at: BatchAt | undefined): boolean => !at || (at.axis === 0 && !at.merged);

/** Whether two tensors hold the batch at the same place (elementwise ops and products need it). */
export const sameAt = (a: BatchAt | undefined, b: BatchAt | undefined): boolean =>
  isFront(a) ? isFront(b) : !!a && !!b && a.axis === b.axis && a.merged === b.merged && a.inner === b.inner;

const numel = (s: number[]) => s.reduce((a, d) => a * d, 1);

/** The ONNX dims of a blob of per-image `shape` with the batch at `at` (batch size n). */
export function onnxDims(shape: number[], at: BatchAt | undefined, n: number): number[] {
  const a = at ?? FRONT;
  if (!a.merged) return [...shape.slice(0, a.axis), n, ...shape.slice(a.axis)];
  return shape.map((d, i) => (i === a.axis ? d * n : d));
}

/** An ONNX axis (negative counts from the end) → the per-image axis, or 'batch' for the batch's own axis. */
export function imageAxisOf(shape: number[], at: BatchAt | undefined, onnxAxis: number): number | 'batch' | undefined {
  const a = at ?? FRONT;
  const rank = a.merged ? shape.length : shape.length + 1;
  const ax = onnxAxis < 0 ? onnxAxis + rank : onnxAxis;
  if (ax < 0 || ax >= rank) return undefined;
  if (a.merged) return ax;
  if (ax === a.axis) return 'batch';
  return ax < a.axis ? ax : ax - 1;
}

/** Per-image values below the batch factor (the batch's stride in per-image elements). */
export function batchStride(shape: number[], at: BatchAt | undefined): number {
  const a = at ?? FRONT;
  if (!a.merged) return numel(shape.slice(a.axis));
  return a.inner * numel(shape.slice(a.axis + 1));
}

/**
 * A row-major reshape of a tensor whose batch has stride `stride` to the ONNX dims `target`
 * (n = the batch size those dims were computed with): the per-image target shape and the new
 * batch position; `undefined` when the reshape mixes images; 'ambiguous' when the batch size 1 of
 * the model leaves several positions possible.
 */
export function locateBatch(stride: number, target: number[], n: number): { shape: number[]; at: BatchAt } | 'ambiguous' | undefined {
  const found: { shape: number[]; at: BatchAt }[] = [];
  for (let k = 0; k < target.length; k++) {
    const below = numel(target.slice(k + 1));
    if (below > stride || stride % below) continue;
    const inner = stride / below;
    if (target[k] % (n * inner)) continue;
    if (below * target[k] < n * stride) continue;
    if (target[k] === n && inner === 1) found.push({ shape: [...target.slice(0, k), ...target.slice(k + 1)], at: { axis: k, merged: false, inner: 1 } });
    else found.push({ shape: target.map((d, i) => (i === k ? d / n : d)), at: { axis: k, merged: true, inner } });
  }
  if (!found.length) return undefined;
  // With n > 1 the position is unique (the batch's stride falls inside one axis); with n = 1 every
  // reading of a size-1 or boundary position fits, and they differ for larger batches.
  if (found.length > 1) return 'ambiguous';
  return found[0];
}

/** The position after a permutation of the ONNX axes; `perImage`: the permutation of the blob's axes. */
export function permuteBatch(at: BatchAt | undefined, perm: number[]): { at: BatchAt; perImage: number[] } {
  const a = at ?? FRONT;
  const axis = perm.indexOf(a.axis);
  if (a.merged) return { at: { ...a, axis }, perImage: [...perm] };
  const perImage = perm.filter((p) => p !== a.axis).map((p) => (p > a.axis ? p - 1 : p));
  return { at: { axis, merged: false, inner: 1 }, perImage };
}
