import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Model } from '../graph/types.ts';
import { layerSlug, type MaxImage, type TopClass, type UnitRecord } from '../content/types.ts';
import { writeJsonAtomic } from '../content/atomic.ts';
import { entries } from './topk.ts';
import { classIndex, corrClasses, labelName, synsetOfFile, topkClasses } from './classes.ts';
import { positionYX } from './patches.ts';
import type { ScanState } from './checkpoint.ts';
import type { ScanPlan } from './plan.ts';

/**
 * From the final scan state to the gallery content: each tracked unit's top-k as MaxImage entries
 * (with the paths of its patch and deconv images) and its top classes; written into the unit's
 * record, keeping what other stages (optimize) put there.
 */
export interface UnitScanResult {
  blob: string;
  unit: number;
  maxImages: MaxImage[];
  topClasses: TopClass[];
  /** Image index and flat position of each max image (the render stage's work). */
  sources: { image: number; pos: number }[];
}

/** Data-root-relative image paths of rank `r` of a unit. */
export function maxImagePaths(model: string, blob: string, unit: number, r: number): { patch: string; deconv: string } {
  const dir = `${model}/img/${layerSlug(blob)}/${unit}`;
  return { patch: `${dir}/max-${r}.webp`, deconv: `${dir}/deconv-${r}.webp` };
}

export function unitResults(model: Model, plan: ScanPlan, state: ScanState): UnitScanResult[] {
  const idx = classIndex(model.labels);
  const synsets = plan.files.map((f) => synsetOfFile(f, idx));
  const out: UnitScanResult[] = [];
  let corrBase = 0;
  const corrBaseOf = new Map<string, number>();
  for (const b of plan.corrBlobs) {
    corrBaseOf.set(b.name, corrBase);
    corrBase += b.shape[0];
  }
  plan.blobs.forEach((info, bi) => {
    const t = state.topk[bi];
    for (let u = 0; u < t.units; u++) {
      const es = entries(t, u);
      const maxImages = es.map((e, r): MaxImage => {
        const { y, x } = positionYX(info, e.position);
        const m: MaxImage = { file: plan.rel[e.image], value: e.value, y, x, ...maxImagePaths(plan.modelId, info.name, u, r) };
        const s = synsets[e.image];
        if (s) {
          m.label = labelName(s, idx);
          m.synset = s;
        }
        return m;
      });
      const topClasses = topkClasses(es.map((e) => synsets[e.image]), idx);
      const cb = corrBaseOf.get(info.name);
      if (state.corr && cb !== undefined) topClasses.push(...corrClasses(state.corr, cb + u, model.labels));
      out.push({ blob: info.name, unit: u, maxImages, topClasses, sources: es.map((e) => ({ image: e.image, pos: e.position })) });
    }
  });
  return out;
}

export function unitRecordPath(out: string, model: string, blob: string, unit: number): string {
  return join(out, model, 'units', layerSlug(blob), `${unit}.json`);
}

/**
 * Read-merge-write of one unit's record: sets maxImages and topClasses, keeps the rest
 * (optimized images…). The write is atomic.
 */
export async function writeUnitScan(out: string, model: Model, plan: ScanPlan, r: UnitScanResult): Promise<void> {
  const path = unitRecordPath(out, model.id, r.blob, r.unit);
  let rec: UnitRecord | undefined;
  if (existsSync(path)) {
    try {
      rec = JSON.parse(await readFile(path, 'utf8')) as UnitRecord;
    } catch {
      rec = undefined;
    }
  }
  const info = plan.blobs.find((b) => b.name === r.blob)!;
  const base: UnitRecord = rec ?? {
    model: model.id,
    layer: r.blob,
    layerSlug: layerSlug(r.blob),
    unit: r.unit,
    rf: { size: info.rf.size, stride: info.rf.stride },
    optimized: [],
    maxImages: [],
    topClasses: [],
  };
  const label = plan.classBlobs.has(r.blob) ? model.labels?.[r.unit] : undefined;
  if (label) {
    base.label = label.name;
    if (label.synset) base.synset = label.synset;
  }
  base.maxImages = r.maxImages;
  base.topClasses = r.topClasses;
  await writeJsonAtomic(path, base);
}
