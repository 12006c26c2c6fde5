/**
 * Images per batch. On the CPU engines 8 (bigger batches gain nothing there, and 8 keeps a
 * batch's memory small). On a GPU (TensorFlow.js's webgpu backend) as many as the device holds:
 * the largest power of two, up to 256, with which (1) every activation of the batch fits in one
 * storage-buffer binding (the device's `maxStorageBufferBindingSize`: an activation is one buffer
 * bound whole) and (2) the activations of the pass, three times over (the values the gradient
 * keeps, the gradients, temporaries), fit in the memory allowed (WebGPU does not report a
 * device's memory: `DEEPVIS_GPU_MEMORY` GiB, default 2).
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../core/errors.ts';
import type { Model } from '../graph/types.ts';
import { weightBytesLimit } from './net/build.ts';
import { neededSteps } from './net/plan.ts';

export const CPU_BATCH = 8;
export const MAX_BATCH = 256;
const DEFAULT_GPU_MEMORY_GIB = 2;

/** What a GPU batch size is chosen from. */
export interface DeviceLimits {
  /** Largest buffer one binding takes, in bytes. */
  maxBindingBytes: number;
  /** Memory a batch's activations may take, in bytes. */
  memoryBytes: number;
}

/** `DEEPVIS_GPU_MEMORY` (GiB) in bytes; a bad value is a one-line error. */
export function gpuMemoryBytes(env: NodeJS.ProcessEnv = process.env): number {
  const v = env.DEEPVIS_GPU_MEMORY;
  if (v === undefined || v === '') return DEFAULT_GPU_MEMORY_GIB * 2 ** 30;
  const gib = Number(v);
  if (!Number.isFinite(gib) || gib <= 0) throw new UserError(`DEEPVIS_GPU_MEMORY must be a positive number of GiB, got "${v}"`);
  return gib * 2 ** 30;
}

/** The limits of this thread's GPU backend; null on the CPU engines. */
export function deviceLimits(): DeviceLimits | null {
  if (tf.getBackend() !== 'webgpu') return null;
  return { maxBindingBytes: weightBytesLimit(), memoryBytes: gpuMemoryBytes() };
}

/** Float32 bytes per image of the input and of every blob computed on the way to `blobs`, and the largest. */
export function activationBytes(model: Model, blobs: string[]): { total: number; largest: number } {
  const sizes = new Map(model.graph.blobs.map((b) => [b.name, b.shape.reduce((a, d) => a * d, 1) * 4]));
  const seen = new Set<string>([model.graph.input.blob]);
  for (const l of neededSteps(model.graph.layers, blobs)) for (const t of l.tops) seen.add(t);
  let total = 0;
  let largest = 0;
  for (const b of seen) {
    const s = sizes.get(b) ?? 0;
    total += s;
    largest = Math.max(largest, s);
  }
  return { total, largest };
}

/** The batch size for passes through `blobs` on a device with these limits (null: a CPU engine). */
export function batchFor(model: Model, blobs: string[], device: DeviceLimits | null): number {
  if (!device) return CPU_BATCH;
  const { total, largest } = activationBytes(model, blobs);
  let b = MAX_BATCH;
  while (b > 1 && (b * largest > device.maxBindingBytes || 3 * b * total > device.memoryBytes)) b >>= 1;
  return b;
}
