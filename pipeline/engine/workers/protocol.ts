import type { BackendChoice } from '../backend.ts';
import type { DeviceLimits } from '../batch-size.ts';
import type { Model } from '../../graph/types.ts';

/** What a pool worker is started with (worker_threads workerData). */
export interface WorkerSetup {
  /** A `--model` spec for loadModel, or a loaded model (structured-cloned into the worker). */
  model: string | Model;
  backend: BackendChoice;
  /** Absolute path of the module whose exports are the task functions. */
  handlers: string;
  /** Test hook: absolute path of a module whose default export `(spec) => Promise<Model>` replaces loadModel. */
  modelFactory?: string;
}

/** Main thread → worker. */
export type ToWorker = { type: 'task'; id: number; fn: string; args: unknown } | { type: 'close' };

/** Worker → main thread. */
export type FromWorker =
  | { type: 'ready'; backend: string; device: DeviceLimits | null }
  | { type: 'result'; id: number; result: unknown }
  | { type: 'error'; id?: number; name: string; message: string; stack?: string };
