/** Small, pure helpers that turn records into what the pages print. No data munging in templates. */
import type { ModelRecord } from '../../pipeline/content/types.ts';
import type { LayerOrder } from '../../pipeline/site/urls.ts';
import type { SiteOptImage, SiteTopClass, SiteUnit } from '../../pipeline/site/snapshot.ts';

/** The class a unit stands for: its label (class layers), else its first top class. */
export function unitClass(u: SiteUnit): string | undefined {
  return u.label ?? u.topClasses[0]?.name;
}

/** The units ordered by top class name (case-insensitive; units without one last), then by index. */
export function sortByClass(units: SiteUnit[]): SiteUnit[] {
  const keyed = units.map((u) => ({ u, k: unitClass(u)?.toLowerCase() }));
  keyed.sort((a, b) => {
    if (a.k !== b.k) {
      if (a.k === undefined) return 1;
      if (b.k === undefined) return -1;
      return a.k < b.k ? -1 : 1;
    }
    return a.u.unit - b.u.unit;
  });
  return keyed.map((x) => x.u);
}

/**
 * A layer's units in a statistics order (units without statistics last, then by index): largest
 * activation (its best image) first; most selective (smallest fraction of images at half its
 * maximum; dead units last) first; most often dead first.
 */
export function sortByStat(units: SiteUnit[], order: 'max' | 'selectivity' | 'dead'): SiteUnit[] {
  const key = (u: SiteUnit): number | undefined => {
    const s = u.stats;
    if (!s) return undefined;
    if (order === 'max') return -(u.maxImages[0]?.value ?? 0);
    if (order === 'dead') return -s.dead;
    return s.dead >= 1 ? Number.POSITIVE_INFINITY : s.selectivity;
  };
  const keyed = units.map((u) => ({ u, k: key(u) }));
  keyed.sort((a, b) => {
    if (a.k !== b.k) {
      if (a.k === undefined) return 1;
      if (b.k === undefined) return -1;
      return a.k - b.k;
    }
    return a.u.unit - b.u.unit;
  });
  return keyed.map((x) => x.u);
}

/** Every listing order a layer has: index and class always, the statistics orders when any unit has statistics. */
export function layerOrders(units: SiteUnit[]): Map<LayerOrder, SiteUnit[]> {
  const out = new Map<LayerOrder, SiteUnit[]>([
    ['index', units],
    ['class', sortByClass(units)],
  ]);
  if (units.some((u) => u.stats)) for (const o of ['max', 'selectivity', 'dead'] as const) out.set(o, sortByStat(units, o));
  return out;
}

/** The optimised image with the highest activation. */
export function bestOptimized(u: SiteUnit): SiteOptImage | undefined {
  let best: SiteOptImage | undefined;
  for (const o of u.optimized) if (!best || o.activation > best.activation) best = o;
  return best;
}

export interface Thumb {
  /** Path relative to the data root. */
  file: string;
  width: number;
  height: number;
  /** Small source (e.g. an 11×11 conv1 patch): scale up with crisp pixels. */
  pixelated: boolean;
}

/** A unit's thumbnail: its best optimised image, else its top patch, else none. */
export function unitThumb(u: SiteUnit, model: ModelRecord): Thumb | undefined {
  const best = bestOptimized(u);
  if (best) return { file: best.file, width: model.input.size[1], height: model.input.size[0], pixelated: false };
  const top = u.maxImages[0];
  if (top) return { ...patchSize(u, model), file: top.patch };
  return undefined;
}

/** Display size of a patch/deconv: the receptive field, clipped to the input. */
export function patchSize(u: SiteUnit, model: ModelRecord): { width: number; height: number; pixelated: boolean } {
  const height = Math.min(u.rf.size[0], model.input.size[0]);
  const width = Math.min(u.rf.size[1], model.input.size[1]);
  return { width, height, pixelated: Math.max(width, height) < 64 };
}

/** "unit 281 · tabby, tabby cat" */
export function unitName(u: SiteUnit): string {
  return u.label ? `unit ${u.unit} · ${u.label}` : `unit ${u.unit}`;
}

/** An activation with three significant digits. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  return Math.abs(x) >= 1000 ? x.toFixed(0) : String(Number(x.toPrecision(3)));
}

/** The last path component of a source image path. */
export function basename(p: string): string {
  return p.slice(p.lastIndexOf('/') + 1);
}

/** Groups optimised images by preset, presets in first-seen order, seeds ascending. */
export function byPreset(opt: SiteOptImage[]): { preset: string; images: SiteOptImage[] }[] {
  const groups = new Map<string, SiteOptImage[]>();
  for (const o of opt) {
    let g = groups.get(o.preset);
    if (!g) groups.set(o.preset, (g = []));
    g.push(o);
  }
  return [...groups].map(([preset, images]) => ({ preset, images: images.sort((a, b) => a.seed - b.seed) }));
}

/** Evenly spaced sample of `n` items (keeps the first). */
export function sample<T>(items: T[], n: number): T[] {
  if (items.length <= n) return items;
  return Array.from({ length: n }, (_, i) => items[Math.floor((i * items.length) / n)]);
}

/** "n02123045 · 5 of 9 top images · correlation 0.42" (the parts a top class has). */
export function topClassNote(c: SiteTopClass, topImages: number): string {
  const parts = [
    c.synset,
    c.count !== undefined ? `${c.count} of ${topImages} top images` : undefined,
    c.corr !== undefined ? `correlation ${fmt(c.corr)}` : undefined,
  ];
  return parts.filter(Boolean).join(' · ');
}
