import type { Model } from '../../graph/types.ts';
import { layerSlug, type MaxImage, type TopClass } from '../../content/types.ts';
import { writeScanPart } from '../../content/unit-store.ts';
import { entries } from './topk.ts';
import { classIndex, corrClasses, labelName, synsetOfFile, topkClasses } from './classes.ts';
import { positionYX } from './patches.ts';
import type { ScanState } from './checkpoint.ts';
import type { ScanPlan } from './plan.ts';

/**
 * From the final scan state to the gallery content: each tracked unit's top-k as MaxImage entries
 * (with the paths of its patch and deconv images) and its top classes, written as the unit's scan
 * part.
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
export function maxImagePaths(model: string, blob: string, unit: number, r: number): { patch: string; deconv: string; heat: string } {
  const dir = `${model}/img/${layerSlug(blob)}/${unit}`;
  return { patch: `${dir}/max-${r}.webp`, deconv: `${dir}/deconv-${r}.webp`, heat: `${dir}/heat-${r}.webp` };
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
          if (idx.bySynset.has(s)) m.label = labelName(s, idx);
          m.synset = s;
        }
        return m;
      });
      const topClasses = topkClasses(
        es.map((e) => synsets[e.image]),
        idx,
      );
      const cb = corrBaseOf.get(info.name);
      if (state.corr && cb !== undefined) topClasses.push(...corrClasses(state.corr, cb + u, model.labels));
      out.push({ blob: info.name, unit: u, maxImages, topClasses, sources: es.map((e) => ({ image: e.image, pos: e.position })) });
    }
  });
  return out;
}

/** Writes a unit's scan part (maxImages and topClasses; content/unit-store.ts). */
export async function writeUnitScan(out: string, model: Model, r: UnitScanResult): Promise<void> {
  await writeScanPart(out, model.id, r.blob, r.unit, { maxImages: r.maxImages, topClasses: r.topClasses });
}
