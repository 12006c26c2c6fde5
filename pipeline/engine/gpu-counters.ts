/**
 * Host↔GPU traffic of the WebGPU backend, counted where tfjs-backend-webgpu does it: compute
 * dispatches, queue submits, host→GPU uploads of tensor data (and of the small uniform blocks
 * every dispatch writes), GPU→host readbacks, and the main thread's busy time. These do not depend
 * on the GPU's speed: SwiftShader counts what an H100 would (scripts/bench-webgpu.ts reports them
 * per optimisation step and per scanned image).
 */
import * as tf from '@tensorflow/tfjs-core';
import { performance } from 'node:perf_hooks';

export interface GpuCounts {
  dispatches: number;
  submits: number;
  uploads: number;
  uploadBytes: number;
  uniformBytes: number;
  readbacks: number;
  readbackBytes: number;
  /** Milliseconds spent waiting for readbacks (the GPU finishing the work queued before them). */
  waitMs: number;
}

export const ZERO_COUNTS: GpuCounts = { dispatches: 0, submits: 0, uploads: 0, uploadBytes: 0, uniformBytes: 0, readbacks: 0, readbackBytes: 0, waitMs: 0 };

/** The parts of tfjs-backend-webgpu's WebGPUBackend counted (its own method names). */
interface Counted {
  recordAndSubmit(...a: unknown[]): unknown;
  submitQueue(...a: unknown[]): unknown;
  uploadToGPU(dataId: unknown): unknown;
  makeUniforms(u: { data: ArrayLike<number> }[]): unknown;
  getBufferData(buffer: { size: number }): Promise<unknown>;
  tensorMap: { get(id: unknown): { values?: ArrayLike<number> | null; shape: number[]; dtype: string } | undefined };
}

export interface GpuCounter {
  /** The counts since the counter started. */
  read(): GpuCounts;
  /** Puts the backend's methods back. */
  stop(): void;
}

/** Starts counting on the active backend, which must be webgpu. */
export function countGpuWork(): GpuCounter {
  if (tf.getBackend() !== 'webgpu') throw new Error(`countGpuWork: the active backend is ${tf.getBackend()}, not webgpu`);
  const b = tf.backend() as unknown as Counted;
  const c: GpuCounts = { ...ZERO_COUNTS };
  const saved = {
    recordAndSubmit: b.recordAndSubmit,
    submitQueue: b.submitQueue,
    uploadToGPU: b.uploadToGPU,
    makeUniforms: b.makeUniforms,
    getBufferData: b.getBufferData,
  };
  b.recordAndSubmit = function (...a) {
    c.dispatches++;
    return saved.recordAndSubmit.apply(this, a);
  };
  b.submitQueue = function (...a) {
    c.submits++;
    return saved.submitQueue.apply(this, a);
  };
  b.uploadToGPU = function (dataId) {
    const t = b.tensorMap.get(dataId);
    if (t?.values) {
      c.uploads++;
      c.uploadBytes += t.shape.reduce((p, d) => p * d, 1) * 4;
    }
    return saved.uploadToGPU.call(this, dataId);
  };
  b.makeUniforms = function (u) {
    for (const d of u) c.uniformBytes += d.data.length * 4;
    return saved.makeUniforms.call(this, u);
  };
  // Wait time is the union of the reads' waits (reads in flight together wait once).
  let inFlight = 0;
  let since = 0;
  b.getBufferData = async function (buffer) {
    c.readbacks++;
    c.readbackBytes += buffer.size;
    if (inFlight++ === 0) since = performance.now();
    try {
      return await saved.getBufferData.call(this, buffer);
    } finally {
      if (--inFlight === 0) c.waitMs += performance.now() - since;
    }
  };
  return {
    read: () => ({ ...c }),
    stop: () => Object.assign(b, saved),
  };
}

/** a − b, field by field. */
export function countsSince(a: GpuCounts, b: GpuCounts): GpuCounts {
  const out = { ...a };
  for (const k of Object.keys(out) as (keyof GpuCounts)[]) out[k] = a[k] - b[k];
  return out;
}
