/**
 * Per-unit content as parts, one file per (unit, stage output), so that processes on different
 * machines never write the same file except with the same bytes:
 *
 *   <model>/units/<layer-slug>/<unit>/opt-<preset>-<seed>.json   one optimised image (optimize)
 *   <model>/units/<layer-slug>/<unit>/scan.json                  max images + top classes (scan)
 *   <model>/units/<layer-slug>/<unit>/map-<rank>.json            the raw scale of a max image's maps (render)
 *   <model>/units/<layer-slug>/<unit>/judge-<preset>-<seed>.json a second network's verdict on an optimised image
 *   <model>/units/<layer-slug>/<unit>/circuit.json               the units of earlier layers that feed it most (scan)
 *
 * Each part is written whole and atomically (temp file + rename) by the one job that computes it;
 * a job run twice (a lost worker's job retried) writes the same content. Nothing is read, merged
 * and written back: the UnitRecord the site shows is assembled from the parts when it is read
 * (`readUnitRecord`, and the site's reader pipeline/site/data.ts), with the unit's identity,
 * receptive field and label taken from `<model>/model.json`. A whole record
 * `<model>/units/<layer-slug>/<unit>.json` (hand-made, or written by an older deepvis) is still
 * read as the base the parts complete.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { writeJsonAtomic } from '../io/atomic.ts';
import { parseRecord, readJsonFile } from './json-file.ts';
import { meanPairwise, type ImageFeatures } from './features.ts';
import {
  circuitSchema,
  conceptSchema,
  judgeSchema,
  mapScaleSchema,
  maxImageSchema,
  modelSchema,
  optImageSchema,
  topClassSchema,
  unitSchema,
  unitStatsSchema,
} from './schema.ts';
import { layerSlug, type LayerRecord, type ModelRecord, type OptImage, type UnitRecord } from './types.ts';

/** What the scan stage stores for a unit. */
export const scanPartSchema = z.object({
  maxImages: z.array(maxImageSchema),
  topClasses: z.array(topClassSchema),
  stats: unitStatsSchema.optional(),
  hypernyms: z.array(z.string()).optional(),
  concept: conceptSchema.optional(),
});
export type ScanPart = z.infer<typeof scanPartSchema>;

/** What the render stage stores per max image: how its deconv and heat maps were scaled. */
export const mapPartSchema = z.object({ deconv: mapScaleSchema, heat: mapScaleSchema });
export type MapPart = z.infer<typeof mapPartSchema>;

export const circuitPartSchema = circuitSchema;
export type CircuitPart = z.infer<typeof circuitPartSchema>;

export function circuitPartPath(dataRoot: string, modelId: string, layer: string, unit: number): string {
  return join(unitPartsDir(dataRoot, modelId, layer, unit), 'circuit.json');
}

const OPT_PART = /^opt-(.+)-(\d+)\.json$/;
const JUDGE_PART = /^judge-(.+)-(\d+)\.json$/;
export const judgePartSchema = judgeSchema;
export type JudgePart = z.infer<typeof judgePartSchema>;

export function judgePartPath(dataRoot: string, modelId: string, layer: string, unit: number, preset: string, seed: number): string {
  return join(unitPartsDir(dataRoot, modelId, layer, unit), `judge-${preset}-${seed}.json`);
}
const MAP_PART = /^map-(\d+)\.json$/;

/** Folder of a unit's parts. */
export function unitPartsDir(dataRoot: string, modelId: string, layer: string, unit: number): string {
  return join(dataRoot, modelId, 'units', layerSlug(layer), String(unit));
}

export function optPartPath(dataRoot: string, modelId: string, layer: string, unit: number, preset: string, seed: number): string {
  return join(unitPartsDir(dataRoot, modelId, layer, unit), `opt-${preset}-${seed}.json`);
}

export function scanPartPath(dataRoot: string, modelId: string, layer: string, unit: number): string {
  return join(unitPartsDir(dataRoot, modelId, layer, unit), 'scan.json');
}

export function mapPartPath(dataRoot: string, modelId: string, layer: string, unit: number, rank: number): string {
  return join(unitPartsDir(dataRoot, modelId, layer, unit), `map-${rank}.json`);
}

/** The whole-record file an older deepvis wrote (still read as a base). */
export function wholeRecordPath(dataRoot: string, modelId: string, layer: string, unit: number): string {
  return join(dataRoot, modelId, 'units', layerSlug(layer), `${unit}.json`);
}

/** Writes one optimised image's part (the image's record; extra fields are kept in the file). */
export async function writeOptPart(dataRoot: string, modelId: string, layer: string, unit: number, image: OptImage): Promise<void> {
  await writeJsonAtomic(optPartPath(dataRoot, modelId, layer, unit, image.preset, image.seed), image);
}

export async function writeScanPart(dataRoot: string, modelId: string, layer: string, unit: number, part: ScanPart): Promise<void> {
  await writeJsonAtomic(scanPartPath(dataRoot, modelId, layer, unit), part);
}

/** One optimised image's part as written (unvalidated extra fields included); undefined when absent. */
export async function readOptPart<T extends OptImage = OptImage>(
  dataRoot: string,
  modelId: string,
  layer: string,
  unit: number,
  preset: string,
  seed: number,
): Promise<T | undefined> {
  const path = optPartPath(dataRoot, modelId, layer, unit, preset, seed);
  const raw = await readJsonFile(path);
  if (raw === undefined) return undefined;
  parseRecord(optImageSchema, raw, path);
  return raw as T;
}

/** A judge part (validated); undefined when absent. */
export async function readJudgePart(path: string): Promise<JudgePart | undefined> {
  const raw = await readJsonFile(path);
  return raw === undefined ? undefined : parseRecord(judgePartSchema, raw, path);
}

/** A record with nothing computed yet: identity, receptive field and (for class layers) the label. */
export function emptyUnitRecord(model: ModelRecord, layer: LayerRecord, unit: number): UnitRecord {
  const rec: UnitRecord = {
    model: model.id,
    layer: layer.name,
    layerSlug: layer.slug,
    unit,
    rf: { size: layer.rf.size, stride: layer.rf.stride },
    optimized: [],
    maxImages: [],
    topClasses: [],
  };
  const label = layer.classLayer ? model.labels?.find((l) => l.index === unit) : undefined;
  if (label) {
    rec.label = label.name;
    if (label.synset) rec.synset = label.synset;
  }
  return rec;
}

/** Order of optimised images in a record: by preset, then seed. */
function byPresetSeed(a: OptImage, b: OptImage): number {
  return a.preset === b.preset ? a.seed - b.seed : a.preset < b.preset ? -1 : 1;
}

/**
 * Assembles one unit's record from its whole-record file (if any) and its parts folder (if any);
 * undefined when neither exists. Validates every file with the content schemas and checks that
 * names and contents agree; a bad file is a UserError naming it.
 */
export async function assembleUnit(dataRoot: string, model: ModelRecord, layer: LayerRecord, unit: number): Promise<UnitRecord | undefined> {
  const wholePath = join(dataRoot, model.id, 'units', layer.slug, `${unit}.json`);
  const dir = join(dataRoot, model.id, 'units', layer.slug, String(unit));
  const [wholeRaw, names] = await Promise.all([readJsonFile(wholePath), readdir(dir).catch(() => undefined)]);
  if (wholeRaw === undefined && names === undefined) return undefined;
  let rec: UnitRecord;
  if (wholeRaw !== undefined) {
    rec = parseRecord(unitSchema, wholeRaw, wholePath);
    if (rec.model !== model.id || rec.layerSlug !== layer.slug || rec.unit !== unit) {
      throw new UserError(`${wholePath}: record says ${rec.model}/${rec.layerSlug}/${rec.unit}, its path says ${model.id}/${layer.slug}/${unit}`);
    }
  } else rec = emptyUnitRecord(model, layer, unit);
  const opt = new Map(rec.optimized.map((o) => [`${o.preset}\u0000${o.seed}`, o]));
  const maps = new Map<number, MapPart>();
  const judged = new Map<string, JudgePart>();
  for (const name of (names ?? []).sort()) {
    if (!name.endsWith('.json')) continue;
    const path = join(dir, name);
    if (name === 'scan.json') {
      const part = parseRecord(scanPartSchema, await readJsonFile(path), path);
      rec.maxImages = part.maxImages;
      rec.topClasses = part.topClasses;
      if (part.stats) rec.stats = part.stats;
      if (part.hypernyms) rec.hypernyms = part.hypernyms;
      if (part.concept) rec.concept = part.concept;
      continue;
    }
    if (name === 'circuit.json') {
      rec.circuit = parseRecord(circuitPartSchema, await readJsonFile(path), path);
      continue;
    }
    const jm = JUDGE_PART.exec(name);
    if (jm) {
      judged.set(`${jm[1]}\u0000${Number(jm[2])}`, parseRecord(judgePartSchema, await readJsonFile(path), path));
      continue;
    }
    const mm = MAP_PART.exec(name);
    if (mm) {
      maps.set(Number(mm[1]), parseRecord(mapPartSchema, await readJsonFile(path), path));
      continue;
    }
    const m = OPT_PART.exec(name);
    if (!m)
      throw new UserError(`${path}: unit part files are opt-<preset>-<seed>.json, judge-<preset>-<seed>.json, scan.json, circuit.json or map-<rank>.json`);
    const raw = await readJsonFile(path);
    const o = parseRecord(optImageSchema, raw, path);
    if (o.preset !== m[1] || o.seed !== Number(m[2]))
      throw new UserError(`${path}: part says preset ${o.preset} seed ${o.seed}, its name says ${m[1]} ${m[2]}`);
    opt.set(`${o.preset}\u0000${o.seed}`, raw as OptImage); // as written: stage-specific extra keys kept (the site's schema drops them)
  }
  for (const [k, j] of judged) {
    const o = opt.get(k);
    if (o) opt.set(k, { ...o, judge: j });
  }
  rec.optimized = [...opt.values()].sort(byPresetSeed);
  const agreement = seedAgreement(rec.optimized as (OptImage & { features?: ImageFeatures })[]);
  if (agreement.length) rec.agreement = agreement;
  rec.maxImages = rec.maxImages.map((m, r) => (maps.has(r) && m.heat ? { ...m, scale: maps.get(r)! } : m));
  return rec;
}

/** Per preset with ≥ 2 seeds that carry features: the mean pairwise cosine similarity of their features. */
function seedAgreement(images: (OptImage & { features?: ImageFeatures })[]): NonNullable<UnitRecord['agreement']> {
  const byPreset = new Map<string, ImageFeatures[]>();
  for (const o of images) if (o.features) byPreset.set(o.preset, [...(byPreset.get(o.preset) ?? []), o.features]);
  const out: NonNullable<UnitRecord['agreement']> = [];
  for (const [preset, fs] of byPreset) {
    const m = meanPairwise(fs);
    if (m !== undefined) out.push({ preset, seeds: fs.length, similarity: Number(m.toFixed(4)), blob: fs[0].blob });
  }
  return out;
}

/** The unit indices of a layer that have a whole record or a parts folder, ascending. */
export async function listLayerUnits(dataRoot: string, modelId: string, slug: string): Promise<number[]> {
  const dir = join(dataRoot, modelId, 'units', slug);
  const names = await readdir(dir).catch(() => [] as string[]);
  const out = new Set<number>();
  for (const n of names) {
    if (n.endsWith('.tmp')) continue;
    const m = /^(\d+)(\.json)?$/.exec(n);
    if (!m) throw new UserError(`${join(dir, n)}: unit entries must be named <unit>.json or <unit>/`);
    out.add(Number(m[1]));
  }
  return [...out].sort((a, b) => a - b);
}

/** Reads `<model>/model.json` with the content schema; undefined when absent. */
export async function readModelRecordFile(dataRoot: string, modelId: string): Promise<ModelRecord | undefined> {
  const path = join(dataRoot, modelId, 'model.json');
  const raw = await readJsonFile(path);
  return raw === undefined ? undefined : parseRecord(modelSchema, raw, path);
}

/** A unit's assembled record (see assembleUnit); undefined when nothing of it exists. */
export async function readUnitRecord(dataRoot: string, modelId: string, layer: string, unit: number): Promise<UnitRecord | undefined> {
  const model = await readModelRecordFile(dataRoot, modelId);
  if (!model) return undefined;
  const info = model.layers.find((l) => l.name === layer);
  if (!info) throw new UserError(`${join(dataRoot, modelId, 'model.json')}: no layer "${layer}"`);
  return assembleUnit(dataRoot, model, info, unit);
}
