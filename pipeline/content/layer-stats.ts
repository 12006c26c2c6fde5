/**
 * `<model>/layers/<layer-slug>.json`: a scanned layer's units at a glance (LayerStats), written
 * whole by the scan's records step (one writer: the one process, or the merge job).
 */
import { join } from 'node:path';
import { writeJsonAtomic } from '../io/atomic.ts';
import { parseRecord, readJsonFile } from './json-file.ts';
import { layerStatsSchema } from './schema.ts';
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
  const raw = await readJsonFile(path);
  return raw === undefined ? undefined : parseRecord(layerStatsSchema, raw, path);
}
