/**
 * The evidence a unit page shows beside its images, from the records alone (pipeline/content):
 * each badge is a number with what it means in one line and a link to the evidence page
 * (site/pages/evidence.astro), which says what it does and does not prove.
 */
import type { SiteUnit } from '../../pipeline/site/snapshot.ts';
import { bestOptimized, fmt } from './format.ts';

export interface Badge {
  /** Anchor on the evidence page. */
  id: 'ratio' | 'agreement' | 'recognised' | 'judge' | 'selectivity' | 'dead';
  label: string;
  value: string;
  /** The numbers behind the badge, shown on hover and in the expanded list. */
  detail: string;
  /** good / weak: how the number reads (for the badge's colour). */
  tone: 'good' | 'weak' | 'neutral';
}

const pct = (x: number) => `${(x * 100).toFixed(x < 0.01 && x > 0 ? 2 : 1)} %`;
const num = (x: number) => (Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3));

/** True when the unit never fired on the scanned images. */
export function isDead(u: SiteUnit): boolean {
  return !!u.stats && u.stats.images > 0 && u.stats.dead === 1;
}

export function badges(u: SiteUnit): Badge[] {
  const out: Badge[] = [];
  const best = bestOptimized(u);
  const top = u.maxImages[0];
  if (best && top && top.value > 0) {
    const r = best.activation / top.value;
    out.push({
      id: 'ratio',
      label: 'optimised ÷ best photo',
      value: `${r.toFixed(r >= 10 ? 0 : 2)}×`,
      detail: `best optimised image ${num(best.activation)} (preset ${best.preset}, seed ${best.seed}) vs best dataset image ${num(top.value)}`,
      tone: r >= 1 ? 'good' : 'weak',
    });
  }
  // Class units: does the model itself, and a second network, see the class in the images?
  const withTop1 = u.optimized.filter((o) => o.top1);
  if (u.label && withTop1.length) {
    const own = withTop1.filter((o) => o.top1!.index === u.unit).length;
    const others = withTop1.filter((o) => o.top1!.index !== u.unit).map((o) => `seed ${o.seed} (${o.preset}): ${o.top1!.label ?? o.top1!.index}`);
    out.push({
      id: 'recognised',
      label: 'own top-1',
      value: `${own} of ${withTop1.length}`,
      detail: `the model's top-1 class is "${u.label}" for ${own} of ${withTop1.length} optimised images${others.length ? `; otherwise ${others.join('; ')}` : ''}`,
      tone: own === withTop1.length ? 'good' : own === 0 ? 'weak' : 'neutral',
    });
  }
  const judged = u.optimized.filter((o) => o.judge);
  if (judged.length) {
    const hits = judged.filter((o) => o.judge!.hit).length;
    const model = judged[0].judge!.model;
    out.push({
      id: 'judge',
      label: `${model} top-5`,
      value: `${hits} of ${judged.length}`,
      detail: judged.map((o) => `seed ${o.seed} (${o.preset}): ${o.judge!.top5.map((t) => `${t.label} ${(t.prob * 100).toFixed(0)} %`).join(', ')}`).join('; '),
      tone: hits === judged.length ? 'good' : hits === 0 ? 'weak' : 'neutral',
    });
  }
  for (const a of u.agreement ?? []) {
    out.push({
      id: 'agreement',
      label: `seed agreement${(u.agreement?.length ?? 0) > 1 ? ` (${a.preset})` : ''}`,
      value: a.similarity.toFixed(2),
      detail: `mean pairwise cosine similarity of the ${a.seeds} seeds' images in the model's own ${a.blob} features (preset ${a.preset})`,
      tone: a.similarity >= 0.5 ? 'good' : 'neutral',
    });
  }
  if (u.stats && u.stats.images > 0) {
    const s = u.stats;
    if (isDead(u)) {
      out.push({
        id: 'dead',
        label: 'dead',
        value: `on all ${s.images} images`,
        detail: `activation ≤ 0 on every one of the ${s.images} scanned images`,
        tone: 'weak',
      });
    } else {
      out.push({
        id: 'selectivity',
        label: 'selectivity',
        value: pct(s.selectivity),
        detail: `${pct(s.selectivity)} of ${s.images} images reach half its largest activation; dead (≤ 0) on ${pct(s.dead)}; mean ${num(s.mean)}, std ${num(s.std)}`,
        tone: s.selectivity <= 0.1 ? 'good' : 'neutral',
      });
    }
  }
  return out;
}

/** Bars of a unit's histogram for an SVG of `width` × `height` (log-spaced bins; the dead bin first, apart). */
export function histogramBars(u: SiteUnit, width: number, height: number): { x: number; y: number; w: number; h: number; title: string; dead: boolean }[] {
  const h = u.stats?.hist;
  if (!h) return [];
  const counts = [h.dead, ...h.counts];
  const max = Math.max(1, ...counts);
  const slot = width / (counts.length + 1); // one empty slot between the dead bin and the rest
  return counts.map((c, i) => {
    const lo = i === 0 ? 0 : h.from * 2 ** ((i - 1) / h.perOctave);
    const hi = h.from * 2 ** (i / h.perOctave);
    const bh = (c / max) * height;
    return {
      x: (i === 0 ? 0 : i + 1) * slot,
      y: height - bh,
      w: Math.max(1, slot - 1),
      h: bh,
      title: i === 0 ? `${c} images ≤ 0` : `${c} images in ${num(lo)}–${num(hi)}`,
      dead: i === 0,
    };
  });
}

/** A layer's per-unit maxima as log-spaced bars (2 per octave) for an SVG of `width` × `height`; units whose max is ≤ 0 are left out. */
export function maxHistogram(
  maxima: number[],
  width: number,
  height: number,
): { bars: { x: number; y: number; w: number; h: number; title: string }[]; lo: string; hi: string } {
  const pos = maxima.filter((m) => m > 0);
  if (!pos.length) return { bars: [], lo: '–', hi: '–' };
  const lo = Math.min(...pos);
  const hi = Math.max(...pos);
  const per = 2;
  const first = Math.floor(Math.log2(lo) * per);
  const n = Math.max(1, Math.floor(Math.log2(hi) * per) - first + 1);
  const counts = new Array<number>(n).fill(0);
  for (const m of pos) counts[Math.min(n - 1, Math.floor(Math.log2(m) * per) - first)]++;
  const top = Math.max(...counts);
  const slot = width / n;
  const bars = counts.map((c, i) => {
    const a = 2 ** ((first + i) / per);
    const b = 2 ** ((first + i + 1) / per);
    const h = (c / top) * height;
    return { x: i * slot, y: height - h, w: Math.max(1, slot - 1), h, title: `${c} units with largest activation ${num(a)}–${num(b)}` };
  });
  return { bars, lo: num(lo), hi: num(hi) };
}

/** How a circuit list was computed, in words. */
export function circuitMethod(method: 'weights' | 'gradient' | 'same'): string {
  return method === 'weights' ? 'by weight mass Σ|w|' : method === 'gradient' ? 'by gradient × activation on its top images' : 'the same channel';
}

/** What a cell of a layer listing sorted by a statistic prints under the unit's index. */
export function statNote(u: SiteUnit, order: string): string | undefined {
  const s = u.stats;
  if (!s) return undefined;
  if (order === 'max') return `max ${fmt(u.maxImages[0]?.value ?? 0)}`;
  if (order === 'selectivity') return s.dead >= 1 ? 'dead' : `${(s.selectivity * 100).toFixed(1)} % of images`;
  if (order === 'dead') return `dead on ${(s.dead * 100).toFixed(0)} %`;
  return undefined;
}
