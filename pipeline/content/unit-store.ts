/**
 * Read-merge-write of per-unit JSON records (`<model>/units/<layer-slug>/<unit>.json`), shared by
 * the stages that fill them (optimize writes `optimized`, scan writes `maxImages`/`topClasses`).
 *
 * `updateUnitRecord` reads the record (or starts an empty one), lets the caller change it and
 * writes it atomically (temp file + rename: readers only ever see a complete record). Calls for
 * the same record within one process are serialised, so concurrent updates from one process never
 * lose each other's changes. Separate processes updating the same unit at the same moment are not
 * coordinated (last writer wins): run one stage per model at a time, or different units.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { Model } from '../graph/types.ts';
import { writeJsonAtomic } from '../io/atomic.ts';
import { classLayers } from '../graph/classes.ts';
import { layerSlug, type UnitRecord } from './types.ts';

/** Absolute path of a unit's record. */
export function unitRecordPath(dataRoot: string, modelId: string, layer: string, unit: number): string {
  return join(dataRoot, modelId, 'units', layerSlug(layer), `${unit}.json`);
}

/** A record with nothing computed yet: identity, receptive field and (for class layers) the label. */
export function emptyUnitRecord(model: Model, layer: string, unit: number): UnitRecord {
  const info = model.graph.blobs.find((b) => b.name === layer);
  if (!info) throw new UserError(`model ${model.id} has no blob "${layer}"`);
  const rec: UnitRecord = {
    model: model.id,
    layer,
    layerSlug: layerSlug(layer),
    unit,
    rf: { size: info.rf.size, stride: info.rf.stride },
    optimized: [],
    maxImages: [],
    topClasses: [],
  };
  const label = classLayers(model).has(layer) ? model.labels?.[unit] : undefined;
  if (label) {
    rec.label = label.name;
    if (label.synset) rec.synset = label.synset;
  }
  return rec;
}

/** Reads a unit's record; undefined when absent. A file that is not valid JSON is a UserError naming it. */
export async function readUnitRecord(dataRoot: string, modelId: string, layer: string, unit: number): Promise<UnitRecord | undefined> {
  const path = unitRecordPath(dataRoot, modelId, layer, unit);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text) as UnitRecord;
  } catch (e) {
    throw new UserError(`${path}: not valid JSON (${(e as Error).message.split('\n')[0]}); delete it to rebuild`);
  }
}

const queues = new Map<string, Promise<unknown>>();

/**
 * Applies `change` to a unit's record and writes it atomically. `change` may mutate the record in
 * place or return a new one. Serialised per record within this process. Returns the record written.
 */
export function updateUnitRecord(
  dataRoot: string,
  model: Model,
  layer: string,
  unit: number,
  change: (rec: UnitRecord) => UnitRecord | void | Promise<UnitRecord | void>,
): Promise<UnitRecord> {
  const path = unitRecordPath(dataRoot, model.id, layer, unit);
  const prev = queues.get(path) ?? Promise.resolve();
  const next = prev.then(async () => {
    const rec = (await readUnitRecord(dataRoot, model.id, layer, unit)) ?? emptyUnitRecord(model, layer, unit);
    const out = (await change(rec)) ?? rec;
    await writeJsonAtomic(path, out);
    return out;
  });
  const settled = next.catch(() => undefined);
  queues.set(path, settled);
  void settled.then(() => {
    if (queues.get(path) === settled) queues.delete(path);
  });
  return next;
}
