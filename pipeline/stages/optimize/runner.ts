/** Where the optimisation's handlers (./handlers.ts) run: the worker pool, or this thread for `workers` 0. */
import { fileURLToPath } from 'node:url';
import type { BackendChoice } from '../../engine/backend.ts';
import type { Model } from '../../graph/types.ts';
import { createRunner as createStageRunner, type Runner as StageRunner } from '../../engine/workers/runner.ts';

export type HandlerName = 'optimizeBatch' | 'calibrate' | 'backendName';
export type Runner = StageRunner<HandlerName>;

export const HANDLERS_MODULE = fileURLToPath(new URL('./handlers.ts', import.meta.url));

/** `workers` 0: in this thread; otherwise the worker pool (default size: its choice, one per core). */
export function createRunner(model: Model, backend: BackendChoice, workers?: number): Promise<Runner> {
  return createStageRunner<HandlerName>({ model, backend, workers, handlers: HANDLERS_MODULE });
}
