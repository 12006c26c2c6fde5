/**
 * `<model>/layers/<layer-slug>.json`: a scanned layer's units at a glance (LayerStats), written
 * whole by the scan's records step (one writer: the one process, or the merge job).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { writeJsonAtomic } from '../io/atomic.ts';
import { describeZodError, layerStatsSchema } from './schema.ts';
import { layerSlug, type LayerStats } from './types.ts';

export function layerStatsPath(dataRoot: string, modelId: string, layer: string): string {
  return join(dataRoot, modelId, 'layers', `${layerSlug(layer)}.json`);
}

export async function writeLayerStats(dataRoot: string, modelId: string, stats: LayerStats): Promise<void> {
  await writeJsonAtomic(layerStatsPath(dataRoot, modelId, stats.layer), stats);
}

/** The layer's statistics, or undefined before a scan; a bad file is a UserError naming it. */
export async function readLayerStats(dataRoot: string, modelId: string, layer: string): Promise<LayerStats | undefined> {
  const path = layerStatsPath(dataRoot, modelId, layer);
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: invalid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  const r = layerStatsSchema.safeParse(raw);
  if (!r.success) throw new UserError(`${path}: ${describeZodError(r.error)}`);
  return r.data;
}
