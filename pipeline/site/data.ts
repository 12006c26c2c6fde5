/**
 * Reads and validates the gallery content under a data root (layout: pipeline/content/schema.ts;
 * unit records are assembled from their parts by pipeline/content/unit-store.ts).
 * Used by the Astro content loader (site/content.config.ts) and by `deepvis site build`
 * (image placement), so both see the same records and the same errors.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { ModelRecord, UnitRecord } from '../content/types.ts';
import { UserError } from '../core/errors.ts';
import { modelSchema } from '../content/schema.ts';
import { parseRecord, readJsonFile } from '../content/json-file.ts';
import { assembleUnit, listLayerUnits } from '../content/unit-store.ts';
import { readLayerStats } from '../content/layer-stats.ts';

export interface GalleryData {
  root: string;
  models: ModelRecord[];
  /** Every unit record, by model (folder order), layer (model.json order), unit index. */
  units: UnitRecord[];
}

export { resolveDataRoot } from '../content/data-root.ts';

async function isDir(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

export async function readModel(root: string, dir: string): Promise<ModelRecord> {
  const file = join(root, dir, 'model.json');
  const raw = await readJsonFile(file);
  if (raw === undefined) throw new UserError(`${file}: missing`);
  const model = parseRecord(modelSchema, raw, file);
  if (model.id !== dir) throw new UserError(`${file}: id "${model.id}" differs from its folder name "${dir}"`);
  const slugs = new Set<string>();
  for (const layer of model.layers) {
    if (slugs.has(layer.slug)) throw new UserError(`${file}: two layers share the slug "${layer.slug}"`);
    slugs.add(layer.slug);
  }
  return model;
}

async function readLayerUnits(root: string, model: ModelRecord, layer: ModelRecord['layers'][number]): Promise<UnitRecord[]> {
  const dir = join(root, model.id, 'units', layer.slug);
  if (!(await isDir(dir))) return [];
  const indices = await listLayerUnits(root, model.id, layer.slug);
  const units = await mapLimit(indices, 32, async (index) => {
    if (index >= layer.units) throw new UserError(`${join(dir, String(index))}: unit ${index} out of range (layer ${layer.name} has ${layer.units} units)`);
    return (await assembleUnit(root, model, layer, index))!;
  });
  return units;
}

/** The folders of `root` that hold a model.json, sorted. */
export async function listModelDirs(root: string): Promise<string[]> {
  const dirs = (await readdir(root, { withFileTypes: true }))
    .filter((d) => d.isDirectory() || d.isSymbolicLink())
    .map((d) => d.name)
    .sort();
  const out: string[] = [];
  for (const d of dirs)
    if (
      await stat(join(root, d, 'model.json')).then(
        () => true,
        () => false,
      )
    )
      out.push(d);
  return out;
}

/**
 * Reads every model and unit record under `root`; throws a UserError naming the first bad file.
 * A folder without models is an error unless `allowEmpty` (then the gallery is empty).
 */
export async function readGallery(root: string, opts: { allowEmpty?: boolean } = {}): Promise<GalleryData> {
  if (!(await isDir(root))) throw new UserError(`data folder ${root} does not exist (run the pipeline, or pass --data DIR)`);
  const modelDirs = await listModelDirs(root);
  if (!modelDirs.length && !opts.allowEmpty) throw new UserError(`no model in ${root} (expected <model>/model.json)`);
  const models = await Promise.all(modelDirs.map((d) => readModel(root, d)));
  for (const model of models) {
    for (const layer of model.layers) {
      const stats = await readLayerStats(root, model.id, layer.name);
      if (stats) layer.stats = stats;
    }
  }
  const units: UnitRecord[] = [];
  for (const model of models) {
    const unitsDir = join(root, model.id, 'units');
    if (await isDir(unitsDir)) {
      const known = new Set(model.layers.map((l) => l.slug));
      for (const d of await readdir(unitsDir)) {
        if (!known.has(d)) throw new UserError(`${join(unitsDir, d)}: no layer with slug "${d}" in ${model.id}/model.json`);
      }
    }
    for (const layer of model.layers) units.push(...(await readLayerUnits(root, model, layer)));
  }
  return { root, models, units };
}

/** Every image path (relative to the data root) that the records reference. */
export function referencedImages(units: UnitRecord[]): string[] {
  const out = new Set<string>();
  for (const u of units) {
    for (const o of u.optimized) out.add(o.file);
    for (const m of u.maxImages) {
      out.add(m.patch);
      out.add(m.deconv);
      if (m.heat) out.add(m.heat);
    }
  }
  return [...out];
}
