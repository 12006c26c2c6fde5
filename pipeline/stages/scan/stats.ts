/**
 * Activation statistics of every tracked unit over the scanned images, gathered in the scan's one
 * pass from the values it already has (a conv unit's value on an image is its maximum over
 * positions): Σa, Σa², the number of images where the unit is dead (value ≤ 0), and a histogram on a
 * fixed log grid (so chunks scanned anywhere add up exactly: counts are integers; the sums are
 * added chunk by chunk in chunk order like the class correlations).
 *
 * Histogram bins: bin 0 holds values ≤ 0; bin b ≥ 1 holds a in [2^(LO + (b−1)/PER), 2^(LO + b/PER)),
 * clamped at both ends; PER bins per octave (a bin spans ×1.19).
 */
export const HIST_LO = -16;
export const HIST_PER = 4;
export const HIST_BINS = 1 + 32 * HIST_PER;

export interface UnitStatsState {
  units: number;
  sum: Float64Array;
  sum2: Float64Array;
  dead: Int32Array;
  /** units × HIST_BINS */
  hist: Int32Array;
}

export function createStats(units: number): UnitStatsState {
  return { units, sum: new Float64Array(units), sum2: new Float64Array(units), dead: new Int32Array(units), hist: new Int32Array(units * HIST_BINS) };
}

export function binOf(a: number): number {
  if (!(a > 0)) return 0;
  const b = Math.floor((Math.log2(a) - HIST_LO) * HIST_PER) + 1;
  return b < 1 ? 1 : b >= HIST_BINS ? HIST_BINS - 1 : b;
}

/** Lower edge of bin b ≥ 1. */
export function binLow(b: number): number {
  return 2 ** (HIST_LO + (b - 1) / HIST_PER);
}

/** Adds a batch: `values[n * units + u]` for each ok image n (NaN values are left out, as by the top-k). */
export function addStatsBatch(s: UnitStatsState, values: ArrayLike<number>, images: number): void {
  const U = s.units;
  for (let n = 0; n < images; n++) {
    for (let u = 0; u < U; u++) {
      const a = values[n * U + u];
      if (Number.isNaN(a)) continue;
      s.sum[u] += a;
      s.sum2[u] += a * a;
      if (!(a > 0)) s.dead[u]++;
      s.hist[u * HIST_BINS + binOf(a)]++;
    }
  }
}

/** into += from. */
export function addStats(into: UnitStatsState, from: UnitStatsState): void {
  for (let i = 0; i < into.sum.length; i++) {
    into.sum[i] += from.sum[i];
    into.sum2[i] += from.sum2[i];
    into.dead[i] += from.dead[i];
  }
  for (let i = 0; i < into.hist.length; i++) into.hist[i] += from.hist[i];
}

export function clearStats(s: UnitStatsState): void {
  for (const a of [s.sum, s.sum2, s.dead, s.hist]) a.fill(0);
}

/** What a unit's record says of its activation over the scanned images. */
export interface UnitStats {
  /** Images counted. */
  images: number;
  mean: number;
  std: number;
  /** Fraction of images where the unit is ≤ 0 everywhere (dead on that image). */
  dead: number;
  /**
   * Fraction of images where the unit reaches at least half its largest activation over the scan
   * (read from the histogram: exact to within one bin, ×1.19).
   */
  selectivity: number;
  /** The histogram from the first to the last non-empty positive bin: counts, and the lower edge of the first bin. */
  hist: { dead: number; from: number; perOctave: number; counts: number[] };
}

export function unitStats(s: UnitStatsState, u: number, images: number, max: number): UnitStats {
  const n = images;
  const mean = n ? s.sum[u] / n : 0;
  const variance = n ? Math.max(0, s.sum2[u] / n - mean * mean) : 0;
  const row = s.hist.subarray(u * HIST_BINS, (u + 1) * HIST_BINS);
  let first = -1;
  let last = -1;
  for (let b = 1; b < HIST_BINS; b++) {
    if (row[b] > 0) {
      if (first < 0) first = b;
      last = b;
    }
  }
  let above = 0;
  if (max > 0) {
    const half = max / 2;
    const hb = binOf(half);
    for (let b = hb + 1; b < HIST_BINS; b++) above += row[b];
    // the bin holding half the max: the share of it above, on the log scale
    const lo = binLow(hb);
    const hi = binLow(hb + 1);
    above += row[hb] * Math.min(1, Math.max(0, Math.log(hi / half) / Math.log(hi / lo)));
  }
  const r6 = (x: number) => Number(x.toPrecision(6));
  return {
    images: n,
    mean: r6(mean),
    std: r6(Math.sqrt(variance)),
    dead: n ? r6(s.dead[u] / n) : 0,
    selectivity: n ? r6(above / n) : 0,
    hist: { dead: row[0], from: first > 0 ? r6(binLow(first)) : 0, perOctave: HIST_PER, counts: first > 0 ? Array.from(row.subarray(first, last + 1)) : [] },
  };
}
