import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { render } from '../../pipeline/stages/optimize/ascent.ts';
import { OPTIMIZE_PRESETS, type PixelPreset, type OptimizePreset } from '../../pipeline/stages/optimize/presets.ts';
import { jobRng } from '../../pipeline/stages/optimize/rng.ts';
import { unitObjective } from '../../pipeline/stages/optimize/objectives.ts';
import { toyNet } from '../helpers/optimize-toy.ts';

const net = () => toyNet();
const few = (name: string, steps: number): OptimizePreset => ({ ...OPTIMIZE_PRESETS[name], steps });

async function run(p: OptimizePreset, blob: string, units: number[], seeds: number[], objective: 'center' | 'channel' = 'center', gradScale = 1) {
  return render(net(), {
    blob,
    objective,
    preset: p,
    gradScale,
    images: units.map((unit, i) => ({ unit, rng: jobRng('toy', blob, unit, p.name, seeds[i]) })),
  });
}

describe.each(['cpu', 'wasm'])('optimize render on %s', (backend) => {
  beforeAll(async () => {
    await tf.setBackend(backend);
    await tf.ready();
  });

  it('every paper preset raises fc activations', async () => {
    for (const name of ['p1', 'p2', 'p3', 'p4', 'none']) {
      const out = await run(few(name, 40), 'fc', [0, 3], [0, 1], 'center', 1);
      for (const o of out) {
        expect(o.steps).toBe(40);
        expect(o.best_activation, name).toBeGreaterThan(o.start_activation);
        expect(o.input.length).toBe(16 * 16 * 3);
      }
    }
  });

  it('calibration scales constant steps but not a progress step (whose gain per step is fixed); it lifts only its cap', async () => {
    const pixel = (name: string) => OPTIMIZE_PRESETS[name] as PixelPreset;
    const uncapped: PixelPreset = { ...pixel('none'), steps: 6, lr: { kind: 'progress', maxLr: 1e12, desired: 2 } };
    const same = async (p: OptimizePreset, s1: number, s2: number) => {
      const [a] = await run(p, 'fc', [1], [3], 'center', s1);
      const [b] = await run(p, 'fc', [1], [3], 'center', s2);
      return Buffer.from(a.input.buffer).equals(Buffer.from(b.input.buffer));
    };
    expect(await same(uncapped, 1, 15), 'progress').toBe(true);
    expect(await same({ ...pixel('p3'), steps: 6, lr: { kind: 'constant', lr: 1 } }, 1, 15), 'constant').toBe(false);
    // A binding cap (maxLr tiny): the calibrated cap lets the step grow with the scale.
    const capped: PixelPreset = { ...uncapped, lr: { kind: 'progress', maxLr: 1e-3, desired: 2 } };
    expect(await same(capped, 1, 15), 'capped').toBe(false);
  });

  it('the kept image is the best one and respects the pixel range', async () => {
    const [o] = await run(few('p3', 10), 'fc', [2], [0], 'center', 1);
    const x = tf.tensor4d(o.input, [1, 16, 16, 3]);
    const v = unitObjective('fc', [2])
      .values(net().forward(x, ['fc']).fc)
      .dataSync()[0];
    expect(v).toBeCloseTo(o.best_activation, 4);
    const mean = [104, 117, 123];
    o.input.forEach((val, i) => {
      expect(val + mean[i % 3]).toBeGreaterThanOrEqual(-1e-3);
      expect(val + mean[i % 3]).toBeLessThanOrEqual(255 + 1e-3);
    });
  });

  it('an image does not depend on its batch: same (unit, seed) alone or among others is identical', async () => {
    for (const p of [few('p4', 8), few('p1', 8), few('fourier', 6)]) {
      const batch = await run(p, 'conv1', [0, 1, 3], [5, 6, 7]);
      const alone = await run(p, 'conv1', [1], [6]);
      expect(Buffer.from(alone[0].input.buffer).equals(Buffer.from(batch[1].input.buffer)), p.name).toBe(true);
      expect(alone[0].best_activation).toBe(batch[1].best_activation);
    }
  });

  it('different seeds give different images; fourier raises the activation', async () => {
    const out = await run(few('fourier', 30), 'fc', [1, 1], [0, 1]);
    expect(Buffer.from(out[0].input.buffer).equals(Buffer.from(out[1].input.buffer))).toBe(false);
    for (const o of out) expect(o.best_activation).toBeGreaterThan(o.start_activation);
  });

  it('channel objective averages the map; argmax step is recorded when the unit wins', async () => {
    const out = await run(few('none', 15), 'fc', [4], [0], 'center', 1);
    expect(out[0].argmax_step).not.toBeNull();
    const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const conv = net().forward(x, ['conv1']).conv1;
    const ch = unitObjective('conv1', [2, 3], 'channel').values(conv).dataSync();
    const mean = tf.mean(conv, [1, 2]).arraySync() as number[][];
    expect(ch[0]).toBeCloseTo(mean[0][2], 5);
    expect(ch[1]).toBeCloseTo(mean[1][3], 5);
    const ce = unitObjective('conv1', [2, 3], 'center').values(conv).dataSync();
    const arr = conv.arraySync() as number[][][][];
    expect(ce[0]).toBeCloseTo(arr[0][8][8][2], 5);
  });
});

describe('pre-ReLU view', () => {
  it('turns the final ReLU of a ReLU blob into an identity, keeps other blobs as they are', async () => {
    const { preReluModel } = await import('../../pipeline/stages/optimize/pre-relu.ts');
    const { toyModel } = await import('../helpers/optimize-toy.ts');
    const m = toyModel();
    const conv = preReluModel(m, 'conv1')!;
    expect(conv.graph.layers.find((l) => l.name === 'relu1')!.kind).toBe('identity');
    const pool = preReluModel(m, 'pool1')!; // max-pool commutes with ReLU
    expect(pool.graph.layers.find((l) => l.name === 'relu1')!.kind).toBe('identity');
    expect(preReluModel(m, 'fc')).toBeNull();
    expect(m.graph.layers.find((l) => l.name === 'relu1')!.kind).toBe('relu'); // not mutated
  });

  it('the loss follows the pre-activation while the unit is off (single-channel blob)', async () => {
    const v = tf.tensor4d([-2, 3], [2, 1, 1, 1]);
    const o = unitObjective('x', [0, 0], 'center', { preRelu: true });
    expect(Array.from(o.values(v).dataSync())).toEqual([0, 3]);
    expect(Array.from(o.loss(v).dataSync())).toEqual([-2, 3]);
    const g = tf
      .grad((t) => tf.sum(o.loss(t)))(v)
      .dataSync();
    expect(Array.from(g)).toEqual([1, 1]);
  });
});
