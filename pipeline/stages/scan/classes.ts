import { basename, dirname } from 'node:path';
import type { Label } from '../../graph/types.ts';
import type { TopClass } from '../../content/types.ts';

/**
 * Classes of scanned images and of units:
 * - an image's true class comes from its file name `<synset>_…` or its parent folder `<synset>/`;
 * - a unit's top classes are the most frequent classes among its top-k images (`topk`) and, for
 *   hidden units, the classes whose predicted probability correlates most (Pearson, over every
 *   scanned image) with the unit's activation (`corr`), accumulated in one streaming pass.
 */

const WORDNET = /^n\d{8}$/;

export interface ClassIndex {
  bySynset: Map<string, Label>;
}

export function classIndex(labels: Label[] | undefined): ClassIndex {
  const bySynset = new Map<string, Label>();
  for (const l of labels ?? []) if (l.synset) bySynset.set(l.synset, l);
  return { bySynset };
}

/**
 * The synset named by a file (`<synset>_rest.ext`) or its parent folder (`<synset>/file`). With a
 * model that has synset labels only its synsets count; otherwise any WordNet id (`n########`).
 */
export function synsetOfFile(relPath: string, idx: ClassIndex): string | undefined {
  const known = (s: string) => (idx.bySynset.size > 0 ? idx.bySynset.has(s) : WORDNET.test(s));
  const base = basename(relPath);
  const us = base.indexOf('_');
  if (us > 0) {
    const s = base.slice(0, us);
    if (known(s)) return s;
  }
  const stem = base.replace(/\.[^.]*$/, '');
  if (known(stem)) return stem;
  const parent = basename(dirname(relPath));
  if (parent && parent !== '.' && known(parent)) return parent;
  return undefined;
}

export function labelName(synset: string, idx: ClassIndex): string {
  return idx.bySynset.get(synset)?.name ?? synset;
}

/** The most frequent classes among a unit's top-k images (ties: best rank first). */
export function topkClasses(synsets: (string | undefined)[], idx: ClassIndex, max = 5): TopClass[] {
  const counts = new Map<string, { count: number; first: number }>();
  synsets.forEach((s, rank) => {
    if (!s) return;
    const c = counts.get(s);
    if (c) c.count++;
    else counts.set(s, { count: 1, first: rank });
  });
  return [...counts.entries()]
    .sort((a, b) => b[1].count - a[1].count || a[1].first - b[1].first)
    .slice(0, max)
    .map(([synset, c]) => ({ name: labelName(synset, idx), synset, count: c.count, source: 'topk' as const }));
}

/**
 * Streaming sums for the correlation of each tracked unit's activation a_u with each class's
 * predicted probability p_c over the scanned images: n, Σa, Σa², Σp, Σp², Σa·p (units × classes).
 */
export interface CorrState {
  units: number;
  classes: number;
  n: number;
  sumA: Float64Array;
  sumA2: Float64Array;
  sumP: Float64Array;
  sumP2: Float64Array;
  /** units × classes, row-major by unit. */
  sumAP: Float64Array;
}

export function createCorr(units: number, classes: number): CorrState {
  return {
    units,
    classes,
    n: 0,
    sumA: new Float64Array(units),
    sumA2: new Float64Array(units),
    sumP: new Float64Array(classes),
    sumP2: new Float64Array(classes),
    sumAP: new Float64Array(units * classes),
  };
}

/**
 * Adds a batch: `acts[n * units + u]`, `probs[n * classes + c]` for each image n with
 * `use[n]` true. Cost units × classes per image (skips zero activations, common after ReLU).
 */
export function addToCorr(s: CorrState, acts: ArrayLike<number>, probs: Float32Array, use: ArrayLike<boolean>): void {
  const U = s.units;
  const C = s.classes;
  const ap = s.sumAP;
  const rows: number[] = [];
  for (let n = 0; n < use.length; n++) {
    if (!use[n]) continue;
    rows.push(n);
    s.n++;
    const prow = n * C;
    for (let c = 0; c < C; c++) {
      const p = probs[prow + c];
      s.sumP[c] += p;
      s.sumP2[c] += p * p;
    }
  }
  const ps = rows.map((n) => probs.subarray(n * C, n * C + C));
  // Unit-major so that a unit's row of Σa·p stays in cache across the batch; four images per
  // sweep of the row (one load/store of Σa·p per four multiply-adds).
  const zero = new Float32Array(C);
  const a4 = [0, 0, 0, 0];
  const p4: Float32Array[] = [zero, zero, zero, zero];
  for (let u = 0; u < U; u++) {
    const o = u * C;
    let m = 0;
    const flush = () => {
      for (let i = m; i < 4; i++) {
        a4[i] = 0;
        p4[i] = zero;
      }
      const [a0, a1, a2, a3] = a4;
      const [p0, p1, p2, p3] = p4;
      for (let c = 0; c < C; c++) ap[o + c] += a0 * p0[c] + a1 * p1[c] + a2 * p2[c] + a3 * p3[c];
      m = 0;
    };
    for (let j = 0; j < rows.length; j++) {
      const a = acts[rows[j] * U + u];
      if (Number.isNaN(a)) continue;
      s.sumA[u] += a;
      s.sumA2[u] += a * a;
      if (a === 0) continue;
      a4[m] = a;
      p4[m] = ps[j];
      if (++m === 4) flush();
    }
    if (m > 0) flush();
  }
}

/**
 * Adds a batch whose cross products Σ_n a_nu·p_nc were computed elsewhere (`cross`, units ×
 * classes, e.g. by a matrix product in a worker); the other sums are taken from `acts`/`probs`
 * as in addToCorr. Same result as addToCorr up to float rounding.
 */
export function addCorrBatch(s: CorrState, acts: ArrayLike<number>, probs: ArrayLike<number>, n: number, cross: ArrayLike<number>): void {
  const U = s.units;
  const C = s.classes;
  if (cross.length !== U * C) throw new Error(`class correlations: ${cross.length} cross sums for ${U} units × ${C} classes`);
  s.n += n;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < C; c++) {
      const p = probs[i * C + c];
      s.sumP[c] += p;
      s.sumP2[c] += p * p;
    }
    for (let u = 0; u < U; u++) {
      const a = acts[i * U + u];
      s.sumA[u] += a;
      s.sumA2[u] += a * a;
    }
  }
  const ap = s.sumAP;
  for (let i = 0; i < ap.length; i++) ap[i] += cross[i];
}

/** into += from (same shape): how per-chunk sums are combined, in chunk order. */
export function addCorr(into: CorrState, from: CorrState): void {
  if (into.units !== from.units || into.classes !== from.classes)
    throw new Error(`class correlations: ${from.units}×${from.classes} sums added to ${into.units}×${into.classes}`);
  into.n += from.n;
  const pairs: [Float64Array, Float64Array][] = [
    [into.sumA, from.sumA],
    [into.sumA2, from.sumA2],
    [into.sumP, from.sumP],
    [into.sumP2, from.sumP2],
    [into.sumAP, from.sumAP],
  ];
  for (const [a, b] of pairs) for (let i = 0; i < a.length; i++) a[i] += b[i];
}

/** Pearson correlation of unit u with every class (NaN-free: 0 where a variance is 0). */
export function correlations(s: CorrState, u: number): Float64Array {
  const C = s.classes;
  const n = s.n;
  const out = new Float64Array(C);
  const va = n * s.sumA2[u] - s.sumA[u] * s.sumA[u];
  if (n < 2 || !(va > 0)) return out;
  for (let c = 0; c < C; c++) {
    const vp = n * s.sumP2[c] - s.sumP[c] * s.sumP[c];
    if (!(vp > 0)) continue;
    out[c] = (n * s.sumAP[u * C + c] - s.sumA[u] * s.sumP[c]) / Math.sqrt(va * vp);
  }
  return out;
}

/**
 * Indices of the `max` largest positive values, largest first, ties by index: one pass (it runs
 * for every unit of a scan, over every class), the same order as sorting them all.
 */
export function topPositive(r: ArrayLike<number>, max: number): number[] {
  const order: number[] = [];
  for (let c = 0; c < r.length; c++) {
    const v = r[c];
    if (!(v > 0) || (order.length === max && !(v > r[order[max - 1]]))) continue;
    let i = order.length;
    while (i > 0 && v > r[order[i - 1]]) i--;
    order.splice(i, 0, c);
    if (order.length > max) order.pop();
  }
  return order;
}

/** The classes most positively correlated with unit u, by output index → label. */
export function corrClasses(s: CorrState, u: number, labels: Label[] | undefined, max = 5): TopClass[] {
  const r = correlations(s, u);
  const order = topPositive(r, max);
  return order.map((c) => {
    const l = labels?.[c];
    const t: TopClass = { name: l?.name ?? `class ${c}`, corr: Math.round(r[c] * 1e4) / 1e4, source: 'corr' };
    if (l?.synset) t.synset = l.synset;
    return t;
  });
}
