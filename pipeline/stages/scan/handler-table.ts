/** The scan stage's handler table (./handlers.ts), by type: the stage never loads the module itself. */
import { stageHandlers } from '../../engine/workers/handlers.ts';
import type { Runner } from '../../engine/workers/runner.ts';
import type { handlers } from './handlers.ts';

export type ScanHandlers = typeof handlers;
export const SCAN_HANDLERS = stageHandlers<ScanHandlers>(import.meta.url, './handlers', 'scan');
export type ScanRunner = Runner<ScanHandlers>;
