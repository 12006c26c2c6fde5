import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import { camBlob, gradCam, gradientTimesInput } from '../../pipeline/engine/attribution.ts';
import type { Layer } from '../../pipeline/graph/types.ts';
import { conv, P, relu, tinyModel } from '../helpers/tiny-model.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

// Input 1×2×2; a = relu(conv 1×1 [1, −2]) → channels (relu(x), relu(−2x)); s = fc(a) (2 classes,
// Caffe C·H·W order); prob = softmax(s).
const Wc = [1, -2];
const Wf = [0.5, -1, 2, 0, 1, 1, -0.5, 3, /* class 1 */ -1, 0.25, 0, 1, 2, -2, 1, 0.5];
const model = tinyModel(
  [
    { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [1, 2, 2] },
    conv('a', 'data', 'a', 2, 1),
    relu('ra', 'a'),
    { kind: 'fc', name: 's', bottoms: ['a'], tops: ['s'], numOutput: 2, biasTerm: false } as Layer,
    { kind: 'softmax', name: 'prob', bottoms: ['s'], tops: ['prob'] } as Layer,
  ],
  { a: [P([2, 1, 1, 1], Wc)], s: [P([2, 8], Wf)] },
);
const x = [1, -1, 2, -0.5]; // positions (0,0), (0,1), (1,0), (1,1)
const a = (c: number, p: number) => Math.max(0, Wc[c] * x[p]);
const round = (v: ArrayLike<number>) => Array.from(v).map((n) => Number(n.toFixed(5)));

describe('attribution maps on a hand-built net', () => {
  it('Grad-CAM looks at the last spatial blob before the class scores', () => {
    expect(camBlob(model)).toBe('a');
  });

  it('Grad-CAM of a class is ReLU(Σ_c α_c A_c), α_c the mean gradient of the score over positions', () => {
    const net = createNet(model);
    for (const cls of [0, 1]) {
      const alpha = [0, 1].map((c) => [0, 1, 2, 3].reduce((s, p) => s + Wf[cls * 8 + c * 4 + p], 0) / 4);
      const want = [0, 1, 2, 3].map((p) => Math.max(0, alpha[0] * a(0, p) + alpha[1] * a(1, p)));
      const r = gradCam(net, Float32Array.from(x), 's', cls, 'a');
      expect([r.h, r.w]).toEqual([2, 2]);
      expect(round(r.map)).toEqual(round(want));
    }
    net.dispose();
  });

  it('gradient × input of a unit is the positive part of x · ∂unit/∂x per pixel', () => {
    const net = createNet(model);
    const cls = 1;
    const want = [0, 1, 2, 3].map((p) => {
      const g = [0, 1].reduce((s, c) => s + Wf[cls * 8 + c * 4 + p] * Wc[c] * (Wc[c] * x[p] > 0 ? 1 : 0), 0);
      return Math.max(0, g * x[p]);
    });
    const r = gradientTimesInput(net, Float32Array.from(x), 's', cls);
    expect(round(r.map)).toEqual(round(want));
    expect(want.some((v) => v > 0)).toBe(true);
    net.dispose();
  });
});
