/**
 * Runs an ONNX model through onnxruntime-node (the reference) and through deepvis (importer +
 * tfjs executor), and compares every blob both compute.
 */
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { expect } from 'vitest';
import { importOnnx, type OnnxImportOptions } from '../../pipeline/import/onnx/import.ts';
import { readModel } from '../../pipeline/import/onnx/proto.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import { layoutToNchw, nchwToLayout } from '../../pipeline/engine/net/layout.ts';
import type { Model } from '../../pipeline/graph/types.ts';

export interface Blob {
  dims: number[];
  data: Float32Array;
}

/** onnxruntime outputs (float tensors only), by name. */
export async function ortRun(bytes: Uint8Array, input: string, x: Float32Array, dims: number[], outputs: string[]): Promise<Map<string, Blob>> {
  const session = await ort.InferenceSession.create(bytes, { graphOptimizationLevel: 'disabled', intraOpNumThreads: 1 });
  try {
    const res = await session.run({ [input]: new ort.Tensor('float32', x, dims) }, outputs);
    const out = new Map<string, Blob>();
    for (const [k, v] of Object.entries(res)) if (v.type === 'float32') out.set(k, { dims: [...v.dims], data: v.data as Float32Array });
    return out;
  } finally {
    await session.release();
  }
}

/** deepvis: every blob of the imported graph for input x (NCHW), back in NCHW order. */
export async function deepvisRun(
  bytes: Uint8Array,
  x: Float32Array,
  dims: number[],
  opts: Partial<OnnxImportOptions> = {},
): Promise<{ blobs: Map<string, Blob>; model: Model }> {
  const { graph } = importOnnx(readModel(bytes, 'test.onnx'), { file: 'test.onnx', ...opts });
  const model: Model = {
    id: 'test',
    graph,
    source: 'test.onnx',
    preprocess: { size: [dims[2], dims[3]], resize: [dims[2], dims[3]], channelOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 },
  };
  const net = createNet(model);
  const names = graph.blobs.map((b) => b.name);
  const lay = nchwToLayout(x, dims);
  const input = tf.tensor4d(lay.data, lay.shape as [number, number, number, number]);
  const res = net.forward(input, names);
  const blobs = new Map<string, Blob>();
  for (const n of names) {
    const t = res[n];
    const back = layoutToNchw((await t.data()) as Float32Array, t.shape);
    blobs.set(n, { dims: back.shape, data: back.data });
    t.dispose();
  }
  input.dispose();
  net.dispose();
  return { blobs, model };
}

/** max |a − b| / max |b| over a blob. */
export function relErr(a: Blob, b: Blob): number {
  let num = 0,
    den = 0;
  for (let i = 0; i < b.data.length; i++) {
    num = Math.max(num, Math.abs(a.data[i] - b.data[i]));
    den = Math.max(den, Math.abs(b.data[i]));
  }
  return den === 0 ? num : num / den;
}

/** Every deepvis blob onnxruntime also computed: same dims, within `tol` (relErr); returns how many were compared. */
export function expectBlobsMatch(blobs: Map<string, Blob>, ref: Map<string, Blob>, tol = 1e-4): number {
  let compared = 0;
  for (const [name, b] of blobs) {
    const r = ref.get(name);
    if (!r) continue;
    expect(b.dims, name).toEqual(r.dims);
    expect(relErr(b, r), name).toBeLessThan(tol);
    compared++;
  }
  return compared;
}
