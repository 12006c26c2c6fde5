import * as tf from '@tensorflow/tfjs';
import { fileURLToPath } from 'node:url';
import type { Model } from '../graph/types.ts';
import { initBackend, type BackendChoice } from '../backend.ts';
import { createNet } from '../net/build.ts';
import * as scanHandlers from './handlers.ts';
import { createNetPool } from '../workers/pool.ts';

/**
 * Where the scan's handlers run: `size` nets in parallel (worker threads, each with its own
 * backend and net), or one in this thread. `run` queues a call of a handler exported by
 * pipeline/scan/handlers.ts.
 */
export interface Runner {
  size: number;
  backend: string;
  run<R>(fn: HandlerName, args: unknown, transfer?: Transferable[]): Promise<R>;
  close(): Promise<void>;
}

export type HandlerName = 'scanBatch' | 'renderImage';

export interface RunnerOptions {
  model: Model;
  backend: BackendChoice;
  /** Worker threads; 0 = in this thread. Default: the pool's choice (one per core). */
  workers?: number;
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
      const call = chain.then(() => (scanHandlers[fn] as (c: typeof ctx, a: unknown) => Promise<R>)(ctx, args));
      chain = call.catch(() => undefined);
      return call;
    },
    async close() {
      await chain;
      net.dispose();
    },
  };
}

export const HANDLERS_MODULE = fileURLToPath(new URL('./handlers.ts', import.meta.url));

/** A pool of worker threads (each with its own backend and net), or one net here for `workers: 0`. */
export async function createRunner(opts: RunnerOptions): Promise<Runner> {
  if (opts.workers === 0) return localRunner(opts.model, opts.backend);
  const p = await createNetPool({ model: opts.model, backend: opts.backend, workers: opts.workers, handlers: HANDLERS_MODULE });
  return {
    size: p.size,
    backend: p.backend,
    run: <R>(fn: HandlerName, args: unknown, transfer?: Transferable[]) => p.run<R>(fn, args, transfer),
    close: () => p.close(),
  };
}
