/**
 * Running top-k per unit of one blob: the k best (value, image, position) entries seen so far.
 *
 * Order (also the tie-break, so results never depend on batching or worker scheduling):
 * larger value first; equal values → smaller image index first; then smaller position.
 * Each unit contributes one entry per image (conv units: their spatial maximum and its first
 * arg-max position; fc units: the value, position 0). NaN activations are ignored.
 *
 * Storage is flat typed arrays (units × k) so updating thousands of units per image is a tight
 * loop with one comparison per unit in the common case (value below the unit's k-th best).
 */
export interface TopKState {
  blob: string;
  units: number;
  k: number;
  /** units × k, best first within each unit; only the first `count[u]` slots are valid. */
  values: Float64Array;
  images: Int32Array;
  positions: Int32Array;
  count: Int32Array;
}

export interface TopKEntry {
  value: number;
  image: number;
  position: number;
}

export function createTopK(blob: string, units: number, k: number): TopKState {
  if (!(k >= 1)) throw new Error(`top-k needs k ≥ 1, got ${k}`);
  return {
    blob,
    units,
    k,
    values: new Float64Array(units * k),
    images: new Int32Array(units * k),
    positions: new Int32Array(units * k),
    count: new Int32Array(units),
  };
}

/** True when (v1, i1, p1) ranks before (v2, i2, p2). */
function before(v1: number, i1: number, p1: number, v2: number, i2: number, p2: number): boolean {
  if (v1 !== v2) return v1 > v2;
  if (i1 !== i2) return i1 < i2;
  return p1 < p2;
}

/** Offers one entry to unit `u`; keeps it when it ranks among the unit's k best. */
export function offer(s: TopKState, u: number, value: number, image: number, position: number): void {
  if (Number.isNaN(value)) return;
  const k = s.k;
  const base = u * k;
  const n = s.count[u];
  if (n === k) {
    const last = base + k - 1;
    if (!before(value, image, position, s.values[last], s.images[last], s.positions[last])) return;
  }
  // Shift worse entries down one slot (dropping the last when full), then insert.
  let i = n < k ? n : k - 1;
  while (i > 0 && before(value, image, position, s.values[base + i - 1], s.images[base + i - 1], s.positions[base + i - 1])) {
    s.values[base + i] = s.values[base + i - 1];
    s.images[base + i] = s.images[base + i - 1];
    s.positions[base + i] = s.positions[base + i - 1];
    i--;
  }
  s.values[base + i] = value;
  s.images[base + i] = image;
  s.positions[base + i] = position;
  if (n < k) s.count[u] = n + 1;
}

/**
 * Offers a batch: `values[n * units + u]` is unit u's value on the n-th image of the batch, whose
 * global index is `imageIndex[n]`; `positions` (same layout) holds the flat spatial arg-max
 * (y * W + x), or is null for fc blobs (position 0). Images whose index is negative are skipped.
 */
export function offerBatch(s: TopKState, values: ArrayLike<number>, positions: ArrayLike<number> | null, imageIndex: ArrayLike<number>): void {
  const U = s.units;
  const k = s.k;
  if (values.length !== imageIndex.length * U) {
    throw new Error(`top-k ${s.blob}: ${values.length} values for ${imageIndex.length} images × ${U} units`);
  }
  // Fast threshold: the k-th best value per unit (−∞ until the unit has k entries).
  for (let n = 0; n < imageIndex.length; n++) {
    const img = imageIndex[n];
    if (img < 0) continue;
    const row = n * U;
    for (let u = 0; u < U; u++) {
      const v = values[row + u];
      if (s.count[u] === k && v < s.values[u * k + k - 1]) continue;
      offer(s, u, v, img, positions ? positions[row + u] : 0);
    }
  }
}

/** The unit's entries, best first. */
export function entries(s: TopKState, u: number): TopKEntry[] {
  const out: TopKEntry[] = [];
  const base = u * s.k;
  for (let i = 0; i < s.count[u]; i++) out.push({ value: s.values[base + i], image: s.images[base + i], position: s.positions[base + i] });
  return out;
}
