/**
 * The net of a model on the engine initBackend started in this thread: ONNX Runtime's
 * (engine/ort/net.ts) for `--backend onnxruntime`, else the TensorFlow.js executor
 * (engine/net/build.ts). Both implement the same Net, so the stages do not know which runs.
 */
import { availableParallelism } from 'node:os';
import type { Model } from '../graph/types.ts';
import { currentEngine } from './backend.ts';
import { createNet as createTfjsNet, type NetOptions } from './net/build.ts';
import type { Net } from './net/types.ts';
import { createOrtNet } from './ort/net.ts';

/** ONNX Runtime's threads per net: DEEPVIS_ORT_THREADS (the pool sets it: cores ÷ workers), else every core. */
export function ortThreads(): number {
  const v = Number(process.env.DEEPVIS_ORT_THREADS);
  return Number.isInteger(v) && v > 0 ? v : availableParallelism();
}

export function createNet(model: Model, opts: NetOptions = {}): Net {
  return currentEngine() === 'onnxruntime' ? createOrtNet(model, { threads: ortThreads() }) : createTfjsNet(model, opts);
}
