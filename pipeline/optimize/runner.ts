/**
 * Where the optimisation's handlers run: `size` nets in parallel (worker threads of
 * pipeline/workers/pool.ts, each with its own backend and net), or one in this thread.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendChoice } from '../backend.ts';
import type { Model } from '../graph/types.ts';
import { createNet } from '../net/build.ts';
import { createNetPool } from '../workers/pool.ts';
import * as handlers from './handlers.ts';

export type HandlerName = 'optimizeBatch' | 'calibrate' | 'backendName';

export interface Runner {
  size: number;
  /** The backend actually running ("wasm", "webgpu"…). */
  backend: string;
  run<R>(fn: HandlerName, args: unknown): Promise<R>;
  close(): Promise<void>;
}

/** One net in this thread (tests, `--workers 0`). Calls run one at a time, in order. */
export async function localRunner(model: Model, backend: BackendChoice): Promise<Runner> {
  const name = await initBackend(backend);
  const net = createNet(model);
  const ctx = { net, model, tf };
  let chain: Promise<unknown> = Promise.resolve();
  return {
    size: 1,
    backend: name,
    run<R>(fn: HandlerName, args: unknown): Promise<R> {
      const call = chain.then(() => (handlers[fn] as (c: typeof ctx, a: unknown) => Promise<R>)(ctx, args));
      chain = call.catch(() => undefined);
      return call;
    },
    async close() {
      await chain;
      net.dispose();
    },
  };
}

export const HANDLERS_MODULE = new URL('./handlers.ts', import.meta.url).pathname;

/** `workers` 0: in this thread; otherwise the worker pool (default size: its choice, one per core). */
export async function createRunner(model: Model, backend: BackendChoice, workers?: number): Promise<Runner> {
  if (workers === 0) return localRunner(model, backend);
  const p = await createNetPool({ model, backend, workers, handlers: HANDLERS_MODULE });
  return {
    size: p.size,
    backend: p.backend,
    run: <R>(fn: HandlerName, args: unknown) => p.run<R>(fn, args),
    close: () => p.close(),
  };
}
