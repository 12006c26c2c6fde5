/**
 * Where a stage's handlers run: `size` nets in parallel (worker threads of ./pool.ts, each with its
 * own backend and net) or, for `workers: 0`, one net in this thread. Either way `run(fn, args)`
 * calls `fn({ net, model, tf }, args)` from the stage's handlers module.
 */
import * as tf from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import { initBackend, type BackendChoice } from '../backend.ts';
import type { Model } from '../../graph/types.ts';
import { createNet } from '../net/build.ts';
import { createNetPool } from './pool.ts';

export interface Runner<H extends string = string> {
  size: number;
  /** The backend actually running ("wasm", "webgpu"…). */
  backend: string;
  run<R>(fn: H, args: unknown, transfer?: Transferable[]): Promise<R>;
  close(): Promise<void>;
}

export interface RunnerOptions {
  model: Model;
  backend: BackendChoice;
  /** Worker threads; 0 = in this thread. Default: the pool's choice (one per core). */
  workers?: number;
  /** Absolute path of the module exporting the handlers. */
  handlers: string;
}

type Handler = (ctx: { net: ReturnType<typeof createNet>; model: Model; tf: typeof tf }, args: unknown) => Promise<unknown>;

/** One net in this thread (tests, `--workers 0`). Calls run one at a time, in order. */
async function localRunner<H extends string>(opts: RunnerOptions): Promise<Runner<H>> {
  const name = await initBackend(opts.backend);
  const handlers = (await import(pathToFileURL(opts.handlers).href)) as Record<string, Handler>;
  const net = createNet(opts.model);
  const ctx = { net, model: opts.model, tf };
  let chain: Promise<unknown> = Promise.resolve();
  return {
    size: 1,
    backend: name,
    run<R>(fn: H, args: unknown): Promise<R> {
      const call = chain.then(() => handlers[fn](ctx, args) as Promise<R>);
      chain = call.catch(() => undefined);
      return call;
    },
    async close() {
      await chain;
      net.dispose();
    },
  };
}

export async function createRunner<H extends string>(opts: RunnerOptions): Promise<Runner<H>> {
  if (opts.workers === 0) return localRunner<H>(opts);
  const p = await createNetPool({ model: opts.model, backend: opts.backend, workers: opts.workers, handlers: opts.handlers });
  return {
    size: p.size,
    backend: p.backend,
    run: <R>(fn: H, args: unknown, transfer?: Transferable[]) => p.run<R>(fn, args, transfer),
    close: () => p.close(),
  };
}
