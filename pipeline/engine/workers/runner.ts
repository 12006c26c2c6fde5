/**
 * Where a stage's handlers run: `size` nets in parallel (worker threads of ./pool.ts, each with its
 * own backend and net) or, for `workers: 0`, one net in this thread. Either way
 * `run(name, args)` calls `handlers[name]({ net, model, tf }, args)`, typed by the stage's table.
 */
import * as tf from '@tensorflow/tfjs-core';
import { autoBackendFor, initBackend, type BackendChoice } from '../backend.ts';
import { deviceLimits, type DeviceLimits } from '../batch-size.ts';
import type { Model } from '../../graph/types.ts';
import { createNet } from '../create-net.ts';
import { stageTable, type HandlerArgs, type HandlerName, type HandlerResult, type HandlerTable, type StageHandlers } from './handlers.ts';
import { createNetPool } from './pool.ts';

export interface Runner<T extends HandlerTable = HandlerTable> {
  size: number;
  /** The backend actually running ("wasm", "webgpu"…). */
  backend: string;
  /** A GPU backend's limits, from which stages choose their batch size (engine/batch-size.ts); null on the CPU engines. */
  device: DeviceLimits | null;
  run<K extends HandlerName<T>>(fn: K, args: HandlerArgs<T, K>, transfer?: Transferable[]): Promise<HandlerResult<T, K>>;
  close(): Promise<void>;
}

export interface RunnerOptions<T extends HandlerTable> {
  /** A loaded model, or a `--model` spec each worker loads itself. */
  model: Model | string;
  backend: BackendChoice;
  /** Worker threads; 0 = in this thread. Default: the pool's choice (one per core). */
  workers?: number;
  handlers: StageHandlers<T>;
  /** Test hook: module whose default export `(spec) => Promise<Model>` replaces loadModel in workers. */
  modelFactory?: string;
}

/** One net in this thread (tests, `--workers 0`). Calls run one at a time, in order. */
async function localRunner<T extends HandlerTable>(opts: RunnerOptions<T>): Promise<Runner<T>> {
  if (typeof opts.model === 'string') throw new Error('a runner in this thread needs a loaded model');
  const name = await initBackend(opts.backend);
  const table = await stageTable(opts.handlers);
  const net = createNet(opts.model);
  const ctx = { net, model: opts.model, tf };
  let chain: Promise<unknown> = Promise.resolve();
  const device = deviceLimits();
  return {
    size: 1,
    backend: name,
    device,
    run(fn, args) {
      const call = chain.then(() => {
        const h = table[fn];
        if (typeof h !== 'function') throw new Error(`no handler "${fn}" in ${opts.handlers.module}`);
        return h(ctx, args);
      }) as Promise<HandlerResult<T, typeof fn>>;
      chain = call.catch(() => undefined);
      return call;
    },
    async close() {
      await chain;
      net.dispose();
    },
  };
}

export async function createRunner<T extends HandlerTable>(given: RunnerOptions<T>): Promise<Runner<T>> {
  const opts = given.backend === 'auto' && typeof given.model !== 'string' ? { ...given, backend: autoBackendFor(given.model) } : given;
  if (opts.workers === 0) return localRunner(opts);
  const p = await createNetPool({
    model: opts.model,
    backend: opts.backend,
    workers: opts.workers,
    handlers: opts.handlers.module,
    modelFactory: opts.modelFactory,
  });
  return {
    size: p.size,
    backend: p.backend,
    device: p.device,
    run: (fn, args, transfer) => p.run(fn, args, transfer),
    close: () => p.close(),
  };
}
