/** Where the scan's handlers (./handlers.ts) run: the worker pool, or this thread for `workers` 0. */
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../../engine/backend.ts';
import type { Model } from '../../graph/types.ts';
import { createRunner as createStageRunner, type Runner as StageRunner } from '../../engine/workers/runner.ts';

export type HandlerName = 'scanBatch' | 'renderImage';
export type Runner = StageRunner<HandlerName>;

export interface RunnerOptions {
  model: Model;
  backend: BackendChoice;
  /** Worker threads; 0 = in this thread. Default: the pool's choice (one per core). */
  workers?: number;
}

export const HANDLERS_MODULE = fileURLToPath(new URL('./handlers.ts', import.meta.url));

export function createRunner(opts: RunnerOptions): Promise<Runner> {
  return createStageRunner<HandlerName>({ ...opts, handlers: HANDLERS_MODULE });
}
