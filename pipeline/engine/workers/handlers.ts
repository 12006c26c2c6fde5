/**
 * A stage's handlers: the functions its worker threads run. A handlers module exports
 * `handlers = { name: fn, … } satisfies HandlerTable`; the stage names it with
 * `stageHandlers<typeof handlers>(import.meta.url, './handlers')`, a type-only link,
 * so `runner.run('name', args)` is checked against the handler's own argument and result types
 * without the stage loading the module itself.
 */
import type * as TF from '@tensorflow/tfjs-core';
import { extname } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import type { Model } from '../../graph/types.ts';
import type { Net } from '../net/types.ts';

/** What every handler receives: the thread's net, its model and TensorFlow.js. */
export interface HandlerContext {
  net: Net;
  model: Model;
  tf: typeof TF;
}

// biome-ignore lint/suspicious/noExplicitAny: the table's handlers each take their own argument type.
export type Handler = (ctx: HandlerContext, args: any) => unknown;
export type HandlerTable = Record<string, Handler>;

/** Where a handler table lives (absolute module path); `T` is its type. */
export interface StageHandlers<T extends HandlerTable> {
  module: string;
  /** The stage's name: a table provided under it (provideHandlerTable) is used in this thread instead. */
  stage: string;
  /** Type only: never set. */
  readonly table?: T;
}

/**
 * `name` beside the module at `base` (its import.meta.url), with that module's own extension:
 * `.ts` when the sources run (tsx, vitest), `.js` in the compiled package (lib/).
 */
export function stageHandlers<T extends HandlerTable>(base: string, name: string, stage: string): StageHandlers<T> {
  return { module: fileURLToPath(new URL(`${name}${extname(fileURLToPath(base))}`, base)), stage };
}

const provided = new Map<string, HandlerTable>();

/**
 * Gives this thread a stage's table directly, for a single-file bundle (scripts/device/), where
 * no handlers module sits beside the code to import; its runners must then run in this thread
 * (`workers: 0`).
 */
export function provideHandlerTable(stage: string, table: HandlerTable): void {
  provided.set(stage, table);
}

export type HandlerName<T extends HandlerTable> = keyof T & string;
export type HandlerArgs<T extends HandlerTable, K extends keyof T> = Parameters<T[K]>[1];
export type HandlerResult<T extends HandlerTable, K extends keyof T> = Awaited<ReturnType<T[K]>>;

/** A stage's table for this thread: the provided one, else its module's. */
export async function stageTable(h: StageHandlers<HandlerTable>): Promise<HandlerTable> {
  return provided.get(h.stage) ?? loadHandlerTable(h.module);
}

/** Imports a handlers module and returns its `handlers` export (a clear error when it has none). */
export async function loadHandlerTable(module: string): Promise<HandlerTable> {
  const mod = (await import(pathToFileURL(module).href)) as { handlers?: HandlerTable };
  if (!mod.handlers || typeof mod.handlers !== 'object') throw new Error(`${module}: no "handlers" export (a table of handler functions)`);
  return mod.handlers;
}
