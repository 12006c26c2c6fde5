import { describe, it, expect, beforeAll } from 'vitest';
import { createNet } from '../../pipeline/engine/net/build.ts';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { unitInputGradients } from '../../pipeline/stages/scan/deconv.ts';
import { unitWindow, maxAbsOutside } from '../../pipeline/stages/scan/patches.ts';
import { conv, P, pool, relu, tinyModel } from '../helpers/tiny-model.ts';
import type { GradMode } from '../../pipeline/engine/net/types.ts';

const MODES: GradMode[] = ['backprop', 'deconv', 'guided'];

beforeAll(async () => {
  await initBackend('cpu');
});

describe('deconv on hand-built nets', () => {
  // Input 1×3×3. a = conv 1×1 with weights [1, −1] → (x, −x); ReLU; b = conv 1×1 with weights [−1, 2]:
  // b = −relu(x) + 2·relu(−x). Unit b at the centre, x = 3: upstream gradients are −1 (to relu(x),
  // open) and +2 (to relu(−x), closed). backprop: −1·1 = −1; deconv keeps the positive +2 whatever
  // the mask: 2·(−1) = −2; guided needs positive AND open: 0.
  const x = [1, -1, 2, 0, 3, -2, -1, 1, 0];
  const model = tinyModel(
    [{ kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [1, 3, 3] }, conv('a', 'data', 'a', 2, 1), relu('ra', 'a'), conv('b', 'a', 'b', 1, 1)],
    { a: [P([2, 1, 1, 1], [1, -1])], b: [P([1, 2, 1, 1], [-1, 2])] },
  );
  const expected: Record<GradMode, number> = { backprop: -1, deconv: -2, guided: 0 };
  for (const fastGrad of [true, false]) {
    it(`ReLU rules: backprop −1, deconv −2, guided 0 at the unit's pixel (fastGrad ${fastGrad})`, async () => {
      const net = createNet(model, { fastGrad });
      for (const mode of MODES) {
        const { grads, values } = await unitInputGradients(net, Float32Array.from(x), [{ blob: 'b', unit: 0, pos: 4 }], mode);
        const want = new Array(9).fill(0);
        want[4] = expected[mode];
        expect(Array.from(grads[0]).map((v) => v + 0)).toEqual(want);
        expect(values[0]).toBeCloseTo(-3, 6);
      }
      net.dispose();
    });
  }

  it('max pooling routes the signal through the forward switch only, in every mode', async () => {
    // Input 1×4×4, conv 1×1 weight 2 → ReLU → max pool 2×2 stride 2 → p (1×2×2).
    const model2 = tinyModel(
      [
        { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [1, 4, 4] },
        conv('c', 'data', 'c', 1, 1),
        relu('rc', 'c'),
        pool('p', 'c', 'p', 2, 2),
      ],
      { c: [P([1, 1, 1, 1], [2])] },
    );
    const img = [1, 5, -3, -1, 2, 0, -2, -4, 0, 0, 7, 1, 3, 0, 1, 9];
    const net = createNet(model2);
    // p(0,0) = 2·max(1,5,2,0) = 10 from pixel (0,1); p(1,1) = 2·9 = 18 from pixel (3,3): the whole
    // gradient (2, the conv weight) lands on the switch pixel and nowhere else.
    for (const mode of MODES) {
      const { grads, values } = await unitInputGradients(
        net,
        Float32Array.from(img),
        [
          { blob: 'p', unit: 0, pos: 0 },
          { blob: 'p', unit: 0, pos: 3 },
        ],
        mode,
      );
      const g0 = new Array(16).fill(0);
      g0[1] = 2;
      const g3 = new Array(16).fill(0);
      g3[15] = 2;
      expect(Array.from(grads[0])).toEqual(g0);
      expect(Array.from(grads[1])).toEqual(g3);
      expect(values).toEqual([10, 18]);
    }
    net.dispose();
  });

  it('several targets in one batch equal one target at a time', async () => {
    const m = tinyModel(
      [
        { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [3, 12, 12] },
        conv('c1', 'data', 'c1', 4, 3),
        relu('r1', 'c1'),
        pool('p1', 'c1', 'p1', 2, 2),
        conv('c2', 'p1', 'c2', 5, 3),
        relu('r2', 'c2'),
      ],
      'random',
    );
    const net = createNet(m);
    const input = Float32Array.from({ length: 12 * 12 * 3 }, (_, i) => Math.sin(i * 1.7) * 50);
    const targets = [
      { blob: 'c2', unit: 1, pos: 4 },
      { blob: 'c1', unit: 3, pos: 37 },
      { blob: 'c2', unit: 4, pos: 0 },
    ];
    for (const mode of MODES) {
      const all = await unitInputGradients(net, input, targets, mode);
      for (const [i, t] of targets.entries()) {
        const one = await unitInputGradients(net, input, [t], mode);
        expect(Array.from(all.grads[i])).toEqual(Array.from(one.grads[0]));
        expect(all.values[i]).toBeCloseTo(one.values[0], 4);
      }
    }
    net.dispose();
  });

  it('the deconv of a unit is zero outside its receptive field', async () => {
    const m = tinyModel(
      [
        { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [3, 23, 23] },
        conv('c1', 'data', 'c1', 6, 3, 2, 1),
        relu('r1', 'c1'),
        pool('p1', 'c1', 'p1', 3, 2),
        conv('c2', 'p1', 'c2', 8, 3, 1, 1),
        relu('r2', 'c2'),
      ],
      'random',
    );
    const net = createNet(m);
    const info = m.graph.blobs.find((b) => b.name === 'c2')!;
    const [, H, W] = info.shape;
    const input = Float32Array.from({ length: 23 * 23 * 3 }, (_, i) => Math.cos(i * 0.37) * 80);
    for (const mode of MODES) {
      for (const pos of [0, Math.floor(H / 2) * W + Math.floor(W / 2), H * W - 1]) {
        // A channel that is active at this position (random weights: try until one is).
        let hit = false;
        for (let unit = 0; unit < 8 && !hit; unit++) {
          const { grads, values } = await unitInputGradients(net, input, [{ blob: 'c2', unit, pos }], mode);
          if (!(values[0] > 0)) continue;
          const g = grads[0];
          const win = unitWindow(info, pos, 23, 23);
          expect(maxAbsOutside(g, 23, 23, 3, win)).toBe(0);
          if (mode !== 'guided') expect(Math.max(...g.map(Math.abs))).toBeGreaterThan(0);
          hit = true;
        }
        expect(hit).toBe(true);
      }
    }
    net.dispose();
  });
});
