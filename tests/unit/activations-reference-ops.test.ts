/**
 * Checks the independent Caffe reference (tests/reference/caffe-ref.ts) itself, on cases worked
 * out by hand from Caffe's layer code, and its convolution against a second, brute-force one.
 */
import { describe, expect, it } from 'vitest';
import type { Layer, Model, ParamBlob } from '../../pipeline/graph/types.ts';
import { referenceForward, relativeError } from '../reference/caffe-ref.ts';

function model(shape: [number, number, number], layers: Layer[], weights: Record<string, ParamBlob[]> = {}): Model {
  const input: Layer = { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape };
  return {
    id: 't',
    source: 'test',
    preprocess: { size: [shape[1], shape[2]], resize: [shape[1], shape[2]], channelOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 },
    graph: { name: 't', layers: [input, ...layers], input: { blob: 'data', shape }, blobs: [], weights: new Map(Object.entries(weights)) },
  };
}
const blob = (shape: number[], f: (i: number) => number): ParamBlob => ({
  shape,
  data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)),
});
const run = (m: Model, x: number[]) => referenceForward(m, x);
const round = (a: ArrayLike<number>) => Array.from(a, (v) => Math.round(v * 1e6) / 1e6);

/** Brute-force convolution straight from the definition, bounds-checked per tap. */
function bruteConv(
  x: Float64Array,
  [C, H, W]: number[],
  w: Float32Array,
  b: Float32Array,
  O: number,
  k: number[],
  s: number[],
  p: number[],
  d: number[],
  G: number,
) {
  const OH = Math.floor((H + 2 * p[0] - (d[0] * (k[0] - 1) + 1)) / s[0]) + 1;
  const OW = Math.floor((W + 2 * p[1] - (d[1] * (k[1] - 1) + 1)) / s[1]) + 1;
  const Cg = C / G;
  const out = new Float64Array(O * OH * OW);
  for (let o = 0; o < O; o++)
    for (let oy = 0; oy < OH; oy++)
      for (let ox = 0; ox < OW; ox++) {
        let v = b[o];
        for (let ci = 0; ci < Cg; ci++)
          for (let ky = 0; ky < k[0]; ky++)
            for (let kx = 0; kx < k[1]; kx++) {
              const iy = oy * s[0] - p[0] + ky * d[0];
              const ix = ox * s[1] - p[1] + kx * d[1];
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              const c = Math.floor(o / (O / G)) * Cg + ci;
              v += w[((o * Cg + ci) * k[0] + ky) * k[1] + kx] * x[(c * H + iy) * W + ix];
            }
        out[(o * OH + oy) * OW + ox] = v;
      }
  return { shape: [O, OH, OW], data: out };
}

describe('reference convolution', () => {
  it('matches a hand-computed 2×2 kernel on a 3×3 image', () => {
    const m = model(
      [1, 3, 3],
      [
        {
          kind: 'conv',
          name: 'c',
          bottoms: ['data'],
          tops: ['c'],
          numOutput: 1,
          kernel: [2, 2],
          stride: [1, 1],
          pad: [0, 0],
          dilation: [1, 1],
          group: 1,
          biasTerm: true,
        },
      ],
      {
        c: [blob([1, 1, 2, 2], (i) => [1, 2, 3, 4][i]), blob([1], () => 0.5)],
      },
    );
    // x = 1..9; out(0,0) = 1·1 + 2·2 + 3·4 + 4·5 + 0.5
    const out = run(m, [1, 2, 3, 4, 5, 6, 7, 8, 9]).get('c')!;
    expect(out.shape).toEqual([1, 2, 2]);
    expect([...out.data]).toEqual([37.5, 47.5, 67.5, 77.5]);
  });

  it('matches brute force with groups, padding, strides and dilation (rectangular)', () => {
    const [C, H, W, O, G] = [6, 11, 9, 4, 2];
    for (const [k, s, p, d] of [
      [
        [3, 3],
        [1, 1],
        [1, 1],
        [1, 1],
      ],
      [
        [5, 3],
        [2, 3],
        [2, 1],
        [1, 1],
      ],
      [
        [3, 2],
        [2, 1],
        [2, 0],
        [2, 3],
      ],
      [
        [11, 9],
        [4, 4],
        [0, 0],
        [1, 1],
      ],
    ]) {
      const w = blob([O, C / G, k[0], k[1]], (i) => Math.sin(i * 1.7));
      const b = blob([O], (i) => i - 1.5);
      const layer: Layer = {
        kind: 'conv',
        name: 'c',
        bottoms: ['data'],
        tops: ['c'],
        numOutput: O,
        kernel: k as [number, number],
        stride: s as [number, number],
        pad: p as [number, number],
        dilation: d as [number, number],
        group: G,
        biasTerm: true,
      };
      const x = Array.from({ length: C * H * W }, (_, i) => Math.cos(i * 0.37) * 3);
      const got = run(model([C, H, W], [layer], { c: [w, b] }), x).get('c')!;
      const want = bruteConv(Float64Array.from(x), [C, H, W], w.data, b.data, O, k, s, p, d, G);
      expect(got.shape).toEqual(want.shape);
      expect(relativeError(want.data, got.data)).toBeLessThan(1e-12);
    }
  });
});

describe('reference pooling (Caffe CEIL and pad-count rules)', () => {
  const poolLayer = (method: 'max' | 'ave', k: number, s: number, p: number, global = false): Layer => ({
    kind: 'pool',
    name: 'p',
    bottoms: ['data'],
    tops: ['p'],
    method,
    kernel: [k, k],
    stride: [s, s],
    pad: [p, p],
    global,
  });
  it('uses ceil: 6×6, k3 s2 → 3×3, the last window clipped', () => {
    const x = Array.from({ length: 36 }, (_, i) => i);
    const out = run(model([1, 6, 6], [poolLayer('max', 3, 2, 0)]), x).get('p')!;
    expect(out.shape).toEqual([1, 3, 3]);
    expect([...out.data]).toEqual([14, 16, 17, 26, 28, 29, 32, 34, 35]);
  });
  it('drops a last window that would start in the padding', () => {
    // H = 3, k = 2, s = 2, p = 1: ceil((3 + 2 − 2)/2) + 1 = 3, but (3−1)·2 = 4 ≥ 3 + 1 → 2.
    const out = run(
      model([1, 3, 3], [poolLayer('max', 2, 2, 1)]),
      Array.from({ length: 9 }, (_, i) => i),
    ).get('p')!;
    expect(out.shape).toEqual([1, 2, 2]);
    expect([...out.data]).toEqual([0, 2, 6, 8]);
  });
  it('AVE counts padding cells but not cells past the padded border', () => {
    const ones = new Array(9).fill(1);
    // 3×3, k3 s2 p1 → 2×2; every window covers 2×2 real cells of a 3×3 padded window → 4/9.
    expect(round(run(model([1, 3, 3], [poolLayer('ave', 3, 2, 1)]), ones).get('p')!.data)).toEqual(round([4 / 9, 4 / 9, 4 / 9, 4 / 9]));
    // 4×4, k3 s2 p0 → 2×2; the second window runs past the border (no padding) → divides by 2, not 3.
    const ones16 = new Array(16).fill(1);
    expect([...run(model([1, 4, 4], [poolLayer('ave', 3, 2, 0)]), ones16).get('p')!.data]).toEqual([1, 1, 1, 1]);
  });
  it('global average pooling', () => {
    const out = run(model([2, 2, 3], [poolLayer('ave', 0, 1, 0, true)]), [1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 12]).get('p')!;
    expect(out.shape).toEqual([2, 1, 1]);
    expect([...out.data]).toEqual([3.5, 2]);
  });
});

describe('reference LRN, softmax, fc and the rest', () => {
  it('LRN across channels uses alpha/n and a window clipped at the ends', () => {
    const m = model([3, 1, 1], [{ kind: 'lrn', name: 'n', bottoms: ['data'], tops: ['n'], localSize: 3, alpha: 1, beta: 0.75, k: 2 }]);
    const out = run(m, [1, 2, 3]).get('n')!;
    const s = (sumSq: number) => (2 + sumSq / 3) ** -0.75;
    expect(round(out.data)).toEqual(round([1 * s(1 + 4), 2 * s(1 + 4 + 9), 3 * s(4 + 9)]));
  });
  it('in-place ReLU, fc on the flattened C,H,W blob, softmax', () => {
    const layers: Layer[] = [
      { kind: 'relu', name: 'r', bottoms: ['data'], tops: ['data'], negativeSlope: 0.1 },
      { kind: 'fc', name: 'f', bottoms: ['data'], tops: ['f'], numOutput: 2, biasTerm: true },
      { kind: 'softmax', name: 's', bottoms: ['f'], tops: ['s'] },
    ];
    const m = model([2, 1, 2], layers, { f: [blob([2, 4], (i) => [1, 0, 0, 0, 0, 0, 0, 1][i]), blob([2], (i) => [0, 1][i])] });
    const out = run(m, [-10, 2, 3, 4]);
    expect([...out.get('data')!.data]).toEqual([-1, 2, 3, 4]);
    expect([...out.get('f')!.data]).toEqual([-1, 5]);
    const e = Math.exp(-6);
    expect(round(out.get('s')!.data)).toEqual(round([e / (1 + e), 1 / (1 + e)]));
  });
  it('concat, split, eltwise, scale, batchnorm, flatten', () => {
    const layers: Layer[] = [
      { kind: 'identity', name: 'split', bottoms: ['data'], tops: ['a', 'b'] },
      { kind: 'concat', name: 'cat', bottoms: ['a', 'b'], tops: ['cat'], axis: 1 },
      { kind: 'eltwise', name: 'sum', bottoms: ['a', 'b'], tops: ['sum'], op: 'sum', coeffs: [1, -2] },
      { kind: 'eltwise', name: 'prod', bottoms: ['a', 'b'], tops: ['prod'], op: 'prod', coeffs: [] },
      { kind: 'scale', name: 'sc', bottoms: ['a'], tops: ['sc'], biasTerm: true },
      { kind: 'batchnorm', name: 'bn', bottoms: ['a'], tops: ['bn'], eps: 0 },
      { kind: 'flatten', name: 'fl', bottoms: ['cat'], tops: ['fl'] },
    ];
    const m = model([2, 1, 1], layers, {
      sc: [blob([2], (i) => [2, 3][i]), blob([2], (i) => [1, 1][i])],
      bn: [blob([2], (i) => [2, 4][i]), blob([2], (i) => [8, 32][i]), blob([1], () => 2)],
    });
    const out = run(m, [1, 3]);
    expect(out.get('cat')!.shape).toEqual([4, 1, 1]);
    expect([...out.get('cat')!.data]).toEqual([1, 3, 1, 3]);
    expect([...out.get('sum')!.data]).toEqual([-1, -3]);
    expect([...out.get('prod')!.data]).toEqual([1, 9]);
    expect([...out.get('sc')!.data]).toEqual([3, 10]);
    expect([...out.get('bn')!.data]).toEqual([0, 0.25]); // (1 − 2/2)/√(8/2), (3 − 4/2)/√(32/2)
    expect(out.get('fl')!.shape).toEqual([4]);
  });
  it('relative error is the largest difference over the largest reference value', () => {
    expect(relativeError([10, -20], [10.1, -20])).toBeCloseTo(0.005);
    expect(relativeError([0, 0], [0, 0])).toBe(0);
    expect(relativeError([1, 2], [1, NaN])).toBe(Infinity);
    expect(relativeError([1, 2], [1])).toBe(Infinity);
  });
});
