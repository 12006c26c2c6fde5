/**
 * Following a batch that an exporter moves (pipeline/import/onnx/batch-axis.ts), on the views of
 * torchvision's attention with a batch of 2 (the import size of a symbolic batch), T = 197, C = 768,
 * 12 heads of 64.
 */
import { describe, expect, it } from 'vitest';
import { batchStride, imageAxisOf, locateBatch, onnxDims, permuteBatch } from '../../pipeline/import/onnx/batch-axis.ts';

describe('where the batch is', () => {
  it('[N, T, C] → [T, N, C] → [T, N·H, d] → [N·H, T, d] → [N, H, T, d] and back to [T·N, C]', () => {
    // Transpose [1, 0, 2]: the batch's own axis moves to 1; the blob [T, C] is unchanged.
    const t = permuteBatch(undefined, [1, 0, 2]);
    expect(t).toEqual({ at: { axis: 1, merged: false, inner: 1 }, perImage: [0, 1] });
    expect(onnxDims([197, 768], t.at, 2)).toEqual([197, 2, 768]);
    // Reshape to [T, N·H, d]: the batch is the outer factor of axis 1 (inner = the 12 heads).
    const heads = locateBatch(batchStride([197, 768], t.at), [197, 24, 64], 2);
    expect(heads).toEqual({ shape: [197, 12, 64], at: { axis: 1, merged: true, inner: 12 } });
    if (typeof heads !== 'object') throw new Error('unreachable');
    // Transpose [1, 0, 2] → [N·H, T, d]: the merged axis moves to 0, the blob is [H, T, d].
    const front = permuteBatch(heads.at, [1, 0, 2]);
    expect(front).toEqual({ at: { axis: 0, merged: true, inner: 12 }, perImage: [1, 0, 2] });
    // Reshape to [N, H, T, d]: the batch's own axis 0 again.
    expect(locateBatch(batchStride([12, 197, 64], front.at), [2, 12, 197, 64], 2)).toEqual({ shape: [12, 197, 64], at: { axis: 0, merged: false, inner: 1 } });
    // [T, N, H, d] → [T·N, C]: the batch is the inner factor of the rows.
    const rows = locateBatch(batchStride([197, 12, 64], { axis: 1, merged: false, inner: 1 }), [394, 768], 2);
    expect(rows).toEqual({ shape: [197, 768], at: { axis: 0, merged: true, inner: 1 } });
  });

  it('a reshape that mixes images is refused; a batch of 1 leaves the position ambiguous', () => {
    // [T, N, C] read as [N, T·C]: the first row would hold both images' tokens.
    expect(locateBatch(batchStride([197, 768], { axis: 1, merged: false, inner: 1 }), [2, 197 * 768], 2)).toBeUndefined();
    expect(locateBatch(batchStride([197, 768], { axis: 1, merged: false, inner: 1 }), [197, 12, 64], 1)).toBe('ambiguous');
  });

  it('ONNX axes map to the blob, the batch axis named as such', () => {
    const at = { axis: 1, merged: false, inner: 1 };
    expect([0, 1, 2, -1].map((a) => imageAxisOf([197, 768], at, a))).toEqual([0, 'batch', 1, 1]);
    expect(imageAxisOf([197, 768], at, 3)).toBeUndefined();
    // A merged axis is a blob axis (elementwise use is fine; the importer refuses mixing along it).
    expect(imageAxisOf([12, 197, 64], { axis: 0, merged: true, inner: 12 }, 0)).toBe(0);
  });
});
