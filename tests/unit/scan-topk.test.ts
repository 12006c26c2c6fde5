import { describe, it, expect } from 'vitest';
import { addStatsBatch, binLow, binOf, createStats, HIST_BINS, unitStats } from '../../pipeline/stages/scan/stats.ts';
import { createTopK, offerBatch, entries } from '../../pipeline/stages/scan/topk.ts';
import { createCorr, addToCorr, correlations, corrClasses, synsetOfFile, classIndex, topkClasses, topPositive } from '../../pipeline/stages/scan/classes.ts';
import { encodeState, decodeState, type ScanState } from '../../pipeline/stages/scan/checkpoint.ts';

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** Brute force: every (value, image, pos), sorted by the documented order. */
function bruteTopK(vals: number[][], pos: number[][], u: number, k: number) {
  const all = vals.map((row, img) => ({ value: row[u], image: img, position: pos[img][u] })).filter((e) => !Number.isNaN(e.value));
  all.sort((a, b) => b.value - a.value || a.image - b.image || a.position - b.position);
  return all.slice(0, k);
}

describe('scan top-k', () => {
  it('equals a brute-force sort, with ties broken by image then position, whatever the batching', () => {
    const r = rng(7);
    const U = 13,
      N = 200,
      k = 9;
    // Few distinct values → many ties.
    const vals = Array.from({ length: N }, () => Array.from({ length: U }, () => Math.floor(r() * 6) - 1));
    vals[3][2] = NaN;
    const pos = Array.from({ length: N }, () => Array.from({ length: U }, () => Math.floor(r() * 50)));
    for (const batch of [1, 7, 64, N]) {
      const s = createTopK('b', U, k);
      for (let start = 0; start < N; start += batch) {
        const n = Math.min(batch, N - start);
        const v = new Float32Array(n * U),
          p = new Int32Array(n * U);
        for (let i = 0; i < n; i++)
          for (let u = 0; u < U; u++) {
            v[i * U + u] = vals[start + i][u];
            p[i * U + u] = pos[start + i][u];
          }
        offerBatch(
          s,
          v,
          p,
          Int32Array.from({ length: n }, (_, i) => start + i),
        );
      }
      for (let u = 0; u < U; u++) expect(entries(s, u)).toEqual(bruteTopK(vals, pos, u, k));
    }
  });

  it('is independent of the order images arrive in', () => {
    const r = rng(3);
    const U = 5,
      N = 60,
      k = 4;
    const vals = Array.from({ length: N }, () => Array.from({ length: U }, () => Math.floor(r() * 4)));
    const zero = Array.from({ length: N }, () => new Array(U).fill(0));
    const s = createTopK('b', U, k);
    const order = Array.from({ length: N }, (_, i) => N - 1 - i);
    for (const img of order) offerBatch(s, Float32Array.from(vals[img]), null, [img]);
    for (let u = 0; u < U; u++) expect(entries(s, u)).toEqual(bruteTopK(vals, zero, u, k));
  });

  it('keeps fewer than k entries when there are fewer images, and skips negative image indices', () => {
    const s = createTopK('b', 2, 9);
    offerBatch(s, Float32Array.from([1, 2, 3, 4, 5, 6]), null, [0, -1, 2]);
    expect(entries(s, 0)).toEqual([
      { value: 5, image: 2, position: 0 },
      { value: 1, image: 0, position: 0 },
    ]);
  });
});

describe('scan classes', () => {
  const idx = classIndex([
    { index: 0, synset: 'n01440764', name: 'tench' },
    { index: 1, synset: 'n01443537', name: 'goldfish' },
  ]);
  it('reads the synset from the file name or the parent folder', () => {
    expect(synsetOfFile('n01440764_tench.JPEG', idx)).toBe('n01440764');
    expect(synsetOfFile('a/n01443537/img001.jpg', idx)).toBe('n01443537');
    expect(synsetOfFile('n01443537.jpg', idx)).toBe('n01443537');
    expect(synsetOfFile('n99999999_x.jpg', idx)).toBeUndefined(); // not a class of the model
    expect(synsetOfFile('cat.jpg', idx)).toBeUndefined();
    expect(synsetOfFile('n12345678_x.jpg', classIndex(undefined))).toBe('n12345678');
  });
  it('counts top-k classes, most frequent first', () => {
    expect(topkClasses(['n01443537', 'n01440764', undefined, 'n01440764'], idx)).toEqual([
      { name: 'tench', synset: 'n01440764', count: 2, source: 'topk' },
      { name: 'goldfish', synset: 'n01443537', count: 1, source: 'topk' },
    ]);
  });
  it('streams Pearson correlations exactly', () => {
    const r = rng(11);
    const N = 50,
      U = 3,
      C = 4;
    const A = Array.from({ length: N }, () => Array.from({ length: U }, () => (r() < 0.3 ? 0 : r() * 10)));
    const P = Array.from({ length: N }, () => Array.from({ length: C }, () => r()));
    const s = createCorr(U, C);
    for (let start = 0; start < N; start += 8) {
      const rows = A.slice(start, start + 8),
        prow = P.slice(start, start + 8);
      addToCorr(
        s,
        Float32Array.from(rows.flat()),
        Float32Array.from(prow.flat()),
        rows.map(() => true),
      );
    }
    const f = (x: number) => Math.fround(x);
    for (let u = 0; u < U; u++) {
      const got = correlations(s, u);
      for (let c = 0; c < C; c++) {
        const a = A.map((row) => f(row[u])),
          p = P.map((row) => f(row[c]));
        const ma = a.reduce((x, y) => x + y) / N,
          mp = p.reduce((x, y) => x + y) / N;
        let sap = 0,
          saa = 0,
          spp = 0;
        for (let i = 0; i < N; i++) {
          sap += (a[i] - ma) * (p[i] - mp);
          saa += (a[i] - ma) ** 2;
          spp += (p[i] - mp) ** 2;
        }
        expect(got[c]).toBeCloseTo(sap / Math.sqrt(saa * spp), 9);
      }
    }
    const top = corrClasses(s, 0, undefined, 2);
    expect(top.length).toBeLessThanOrEqual(2);
    for (const t of top) expect(t.source).toBe('corr');
  });

  it('picks the top positive correlations in the order a full sort gives (ties by class index)', () => {
    const r = rng(7);
    for (let trial = 0; trial < 50; trial++) {
      // Few distinct values, so ties are common; some negative, zero and NaN.
      const v = Array.from({ length: 40 }, () => (r() < 0.1 ? Number.NaN : Math.round(r() * 8 - 3) / 4));
      for (const max of [0, 1, 3, 5, 40]) {
        const sorted = [...v.keys()]
          .filter((c) => v[c] > 0)
          .sort((a, b) => v[b] - v[a] || a - b)
          .slice(0, max);
        expect(topPositive(v, max)).toEqual(sorted);
      }
    }
  });
});

describe('scan checkpoint', () => {
  it('round-trips the state exactly', () => {
    const t = createTopK('conv1', 3, 2);
    offerBatch(t, Float32Array.from([1.5, -2, 3, 4, 5, 0.25]), Int32Array.from([1, 2, 3, 4, 5, 6]), [0, 1]);
    const corr = createCorr(3, 2);
    addToCorr(corr, Float32Array.from([1, 2, 3]), Float32Array.from([0.1, 0.9]), [true]);
    const s: ScanState = {
      key: 'abc',
      done: 2,
      total: 10,
      topk: [t, createTopK('fc', 1, 1)],
      stats: [createStats(3), createStats(1)],
      corr,
      skipped: [{ file: 'x.jpg', reason: 'empty file' }],
      complete: false,
    };
    addStatsBatch(s.stats[0], Float32Array.from([1.5, -2, 3, 4, 5, 0.25]), 2);
    const back = decodeState(encodeState(s), 'mem');
    expect(back).toEqual(s);
  });
});

describe('per-channel max and first arg-max of NHWC blobs', () => {
  it('matches a direct search, first position on ties', async () => {
    const { maxArgmaxNhwc } = await import('../../pipeline/stages/scan/handlers.ts');
    const n = 2,
      hw = 5,
      c = 3;
    const d = Float32Array.from([1, 0, -1, 3, 0, -2, 3, 5, -3, 0, 5, -4, 2, 1, -5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, -1, 7, 0]);
    const r = maxArgmaxNhwc(d, n, hw, c);
    expect(Array.from(r.values)).toEqual([3, 5, -1, 0, 7, 0]);
    expect(Array.from(r.positions)).toEqual([1, 2, 0, 0, 4, 0]);
  });
});

describe('activation statistics', () => {
  it('count, mean, std, dead fraction, selectivity and a log histogram of a unit over the images', () => {
    const s = createStats(2);
    // unit 0 over 8 images: 0, 0, 1, 1, 1, 2, 4, 8 (max 8: half is 4 → 2 of 8 images at or above)
    const u0 = [0, 0, 1, 1, 1, 2, 4, 8];
    const values = new Float32Array(16);
    u0.forEach((v, n) => {
      values[n * 2] = v;
      values[n * 2 + 1] = -1; // unit 1: dead everywhere
    });
    addStatsBatch(s, values, 8);
    const st = unitStats(s, 0, 8, 8);
    expect(st.images).toBe(8);
    expect(st.mean).toBeCloseTo(17 / 8, 5);
    expect(st.std).toBeCloseTo(Math.sqrt(u0.reduce((a, v) => a + v * v, 0) / 8 - (17 / 8) ** 2), 4);
    expect(st.dead).toBe(0.25);
    expect(st.selectivity).toBeCloseTo(2 / 8, 2);
    expect(st.hist.dead).toBe(2);
    expect(st.hist.counts.reduce((a, b) => a + b, 0)).toBe(6);
    expect(st.hist.from).toBe(binLow(binOf(1)));
    const dead = unitStats(s, 1, 8, -1);
    expect([dead.dead, dead.selectivity, dead.hist.counts]).toEqual([1, 0, []]);
    expect(binOf(0)).toBe(0);
    expect(binOf(1e30)).toBe(HIST_BINS - 1);
  });
});
