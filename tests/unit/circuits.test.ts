import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import type { Layer } from '../../pipeline/graph/types.ts';
import { traceChannel } from '../../pipeline/graph/circuits.ts';
import { gradientTimesActivation } from '../../pipeline/stages/scan/circuit-gradient.ts';
import { circuitSources, graphCircuit, strongestInputs } from '../../pipeline/stages/scan/circuits.ts';
import type { ScanPlan } from '../../pipeline/stages/scan/plan.ts';
import { conv, P, pool, relu, tinyModel } from '../helpers/tiny-model.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

const input: Layer = { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [2, 1, 1] };
const planOf = (model: ReturnType<typeof tinyModel>, layers: string[]) =>
  ({ blobs: layers.map((l) => model.graph.blobs.find((b) => b.name === l)!) }) as ScanPlan;

describe('circuits on hand-built nets', () => {
  // a = relu(Wa·x) (3 channels), b = relu(Wb·a) (2 channels), all 1×1.
  const Wa = [1, 0, 0, 1, 1, -1];
  const Wb = [0.5, -2, 3, 1, 1, -0.25];
  const direct = tinyModel([input, conv('a', 'data', 'a', 3, 1), relu('ra', 'a'), conv('b', 'a', 'b', 2, 1), relu('rb', 'b')], {
    a: [P([3, 2, 1, 1], Wa)],
    b: [P([2, 3, 1, 1], Wb)],
  });

  it('a direct connection lists the earlier layer by weight mass Σ|w|, strongest first', () => {
    // unit 0 of b: |0.5|, |−2|, |3| → shares 3/5.5, 2/5.5, 0.5/5.5
    const { circuit } = graphCircuit(direct, 'b', 0, 'a');
    expect(circuit?.upstream.method).toBe('weights');
    expect(circuit?.upstream.inputs).toEqual([
      { unit: 2, value: 3, share: Number((3 / 5.5).toFixed(4)) },
      { unit: 1, value: 2, share: Number((2 / 5.5).toFixed(4)) },
      { unit: 0, value: 0.5, share: Number((0.5 / 5.5).toFixed(4)) },
    ]);
    // unit 1: |1|, |1|, |−0.25| → ties by unit index
    expect(graphCircuit(direct, 'b', 1, 'a').circuit?.upstream.inputs.map((i) => i.unit)).toEqual([0, 1, 2]);
  });

  it('the previous gallery layer is the nearest earlier scanned blob that feeds it', () => {
    const s = circuitSources(direct, planOf(direct, ['a', 'b']));
    expect([...s]).toEqual([['b', 'a']]);
  });

  it('per-channel layers in between (pooling) keep the channel: "same", and a concat routes to its branch', () => {
    const pooled = tinyModel(
      [
        { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [2, 2, 2] },
        conv('a', 'data', 'a', 3, 1),
        relu('ra', 'a'),
        pool('p', 'a', 'p', 2, 2),
        conv('b1', 'a', 'b1', 2, 1),
        conv('b2', 'a', 'b2', 2, 1),
        { kind: 'concat', name: 'cat', bottoms: ['b1', 'b2'], tops: ['cat'], axis: 1 },
      ],
      { a: [P([3, 2, 1, 1], Wa)], b1: [P([2, 3, 1, 1], [1, 1, 1, 1, 1, 1])], b2: [P([2, 3, 1, 1], [1, 2, 3, -4, 0.5, 0.25])] },
    );
    expect(graphCircuit(pooled, 'p', 2, 'a').circuit?.upstream).toEqual({ blob: 'a', method: 'same', inputs: [{ unit: 2, value: 1, share: 1 }] });
    // cat unit 3 is b2's channel 1: weights −4, 0.5, 0.25 on a
    const t = traceChannel(pooled.graph, 'cat', 3, 'a');
    expect(t.kind === 'weights' && t.layer.name === 'b2' && t.channel === 1).toBe(true);
    expect(graphCircuit(pooled, 'cat', 3, 'a').circuit?.upstream.inputs.map((i) => [i.unit, i.value])).toEqual([
      [0, 4],
      [1, 0.5],
      [2, 0.25],
    ]);
  });

  it('a conv reading a concatenation of the earlier layer and another blob is no direct connection (its weights span both)', () => {
    const dense = tinyModel(
      [
        input,
        conv('a', 'data', 'a', 3, 1),
        conv('x', 'data', 'x', 2, 1),
        { kind: 'concat', name: 'cat', bottoms: ['a', 'x'], tops: ['cat'], axis: 1 },
        conv('b', 'cat', 'b', 1, 1),
      ],
      { a: [P([3, 2, 1, 1], Wa)], x: [P([2, 2, 1, 1], [1, 1, 1, 1])], b: [P([1, 5, 1, 1], [1, 2, 3, 4, 5])] },
    );
    const { circuit, branch } = graphCircuit(dense, 'b', 0, 'a');
    expect(circuit).toBeUndefined();
    expect(branch?.blob).toBe('cat');
    expect(branch?.inputs.map((i) => i.unit)).toEqual([4, 3, 2, 1, 0]);
  });

  it('through a branch layer: gradient × activation equals the hand computation, and the branch lists its own weights', async () => {
    // a = relu(Wa·x), m = relu(Wm·a) (not scanned), b = Wb·m. Contribution of a_c to b_u:
    // a_c · Σ_k Wb[u,k] · [m_k > 0] · Wm[k,c]; with no biases they add up to b_u.
    const Wm = [1, -1, 0.5, -1, 2, 1];
    const Wb2 = [2, -1];
    const branchy = tinyModel([input, conv('a', 'data', 'a', 3, 1), relu('ra', 'a'), conv('m', 'a', 'm', 2, 1), relu('rm', 'm'), conv('b', 'm', 'b', 1, 1)], {
      a: [P([3, 2, 1, 1], Wa)],
      m: [P([2, 3, 1, 1], Wm)],
      b: [P([1, 2, 1, 1], Wb2)],
    });
    const { circuit, branch } = graphCircuit(branchy, 'b', 0, 'a');
    expect(circuit).toBeUndefined();
    expect(branch).toEqual({
      blob: 'm',
      method: 'weights',
      inputs: [
        { unit: 0, value: 2, share: Number((2 / 3).toFixed(4)) },
        { unit: 1, value: 1, share: Number((1 / 3).toFixed(4)) },
      ],
    });
    const xs = [
      [2, 1],
      [1, 3],
    ];
    const byHand = xs.map(([x0, x1]) => {
      const a = [0, 1, 2].map((c) => Math.max(0, Wa[c * 2] * x0 + Wa[c * 2 + 1] * x1));
      const m = [0, 1].map((k) => a.reduce((s, ac, c) => s + Wm[k * 3 + c] * ac, 0));
      return a.map((ac, c) => ac * [0, 1].reduce((s, k) => s + Wb2[k] * (m[k] > 0 ? 1 : 0) * Wm[k * 3 + c], 0));
    });
    const net = createNet(branchy);
    const r = await gradientTimesActivation(
      net,
      xs.map((x) => Float32Array.from(x)),
      [0, 0],
      { blob: 'b', unit: 0, from: 'a' },
    );
    r.perImage.forEach((got, i) => {
      expect(Array.from(got).map((v) => Number(v.toFixed(5)))).toEqual(byHand[i].map((v) => Number(v.toFixed(5))));
      // piecewise linear, no biases: the contributions add up to the activation
      expect(got.reduce((s, v) => s + v, 0)).toBeCloseTo(r.values[i], 5);
    });
    net.dispose();
  });

  it('the strongest inputs keep only positive contributions, their shares of the positive total', () => {
    expect(strongestInputs([-3, 1, 3], 'a', 'gradient', 9)).toEqual({
      blob: 'a',
      method: 'gradient',
      images: 9,
      inputs: [
        { unit: 2, value: 3, share: 0.75 },
        { unit: 1, value: 1, share: 0.25 },
      ],
    });
  });
});
