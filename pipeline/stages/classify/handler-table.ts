/** The classify stage's handler table (./handlers.ts), by type: the stage never loads the module itself. */
import { stageHandlers } from '../../engine/workers/handlers.ts';
import type { Runner } from '../../engine/workers/runner.ts';
import type { handlers } from './handlers.ts';

export type ClassifyHandlers = typeof handlers;
export const CLASSIFY_HANDLERS = stageHandlers<ClassifyHandlers>(import.meta.url, './handlers', 'classify');
export type ClassifyRunner = Runner<ClassifyHandlers>;
