/** The optimize stage's handler table (./handlers.ts), by type: the stage never loads the module itself. */
import { stageHandlers } from '../../engine/workers/handlers.ts';
import type { Runner } from '../../engine/workers/runner.ts';
import type { handlers } from './handlers.ts';

export type OptimizeHandlers = typeof handlers;
export const OPTIMIZE_HANDLERS = stageHandlers<OptimizeHandlers>(import.meta.url, './handlers', 'optimize');
export type OptimizeRunner = Runner<OptimizeHandlers>;
