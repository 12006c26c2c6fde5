import type { Model } from '../../graph/types.ts';
import { layerSlug, type LayerStats, type MaxImage, type TopClass, type UnitRecord, type UnitStats } from '../../content/types.ts';
import { coveringConcept, hypernymsOf } from '../../graph/concepts.ts';
import { writeScanPart } from '../../content/unit-store.ts';
import { entries } from './topk.ts';
import { classIndex, corrClasses, labelName, synsetOfFile, topkClasses } from './classes.ts';
import { positionYX } from './patches.ts';
import { unitStats } from './stats.ts';
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
  stats: UnitStats;
  /** Class units: their synset's hypernyms. */
  hypernyms?: string[];
  /** Hidden units: the WordNet concept covering most of the top images. */
  concept?: UnitRecord['concept'];
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
  const scanned = plan.files.length - state.skipped.length;
  plan.blobs.forEach((info, bi) => {
    const t = state.topk[bi];
    for (let u = 0; u < t.units; u++) {
      const es = entries(t, u);
      const stats = unitStats(state.stats[bi], u, scanned, es[0]?.value ?? 0);
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
      const r: UnitScanResult = { blob: info.name, unit: u, maxImages, topClasses, stats, sources: es.map((e) => ({ image: e.image, pos: e.position })) };
      const own = plan.classBlobs.has(info.name) ? model.labels?.[u]?.synset : undefined;
      if (own) {
        const hs = hypernymsOf(own).map((h) => h.name);
        if (hs.length) r.hypernyms = hs;
      } else {
        const c = coveringConcept(es.map((e) => synsets[e.image]));
        if (c) r.concept = c.runnerUp ? { ...c.concept, runnerUp: c.runnerUp } : c.concept;
      }
      out.push(r);
    }
  });
  return out;
}

/** Writes a unit's scan part (maxImages, topClasses, stats; content/unit-store.ts). */
export async function writeUnitScan(out: string, model: Model, r: UnitScanResult): Promise<void> {
  await writeScanPart(out, model.id, r.blob, r.unit, {
    maxImages: r.maxImages,
    topClasses: r.topClasses,
    stats: r.stats,
    ...(r.hypernyms ? { hypernyms: r.hypernyms } : {}),
    ...(r.concept ? { concept: r.concept } : {}),
  });
}

/** A layer's summary from every unit of it (not only those with records). */
export function layerStats(blob: string, units: UnitScanResult[]): LayerStats {
  const mine = units.filter((u) => u.blob === blob).sort((a, b) => a.unit - b.unit);
  const images = mine[0]?.stats.images ?? 0;
  const r6 = (x: number) => Number(x.toPrecision(6));
  return {
    layer: blob,
    images,
    units: mine.length,
    dead: mine.filter((u) => u.stats.dead === 1).length,
    rare: mine.filter((u) => u.stats.dead < 1 && 1 - u.stats.dead < 0.01).length,
    max: mine.map((u) => r6(u.maxImages[0]?.value ?? 0)),
    deadFraction: mine.map((u) => u.stats.dead),
  };
}
