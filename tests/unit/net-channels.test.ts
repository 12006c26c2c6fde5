import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import type { Model } from '../../pipeline/graph/types.ts';
import { GraphBuilder, randn, rng } from '../helpers/net-graph.ts';
import { relErr } from '../helpers/net-reference.ts';
import { selectChannels } from '../../pipeline/engine/net/select.ts';

/** SqueezeNet's head (conv → in-place ReLU → global AVE pool), an fc head, and cases that cannot be cut. */
function heads(): Model {
  return new GraphBuilder([3, 9, 9], 31)
    .conv('c1', 'data', 'c1', { numOutput: 8, kernel: 3, stride: 2 })
    .relu('r1', 'c1')
    .conv('conv10', 'c1', 'conv10', { numOutput: 12, kernel: 1 })
    .relu('r10', 'conv10')
    .pool('pool10', 'conv10', 'pool10', { method: 'ave', global: true })
    .fc('fc', 'c1', 'fc', 10)
    .conv('g', 'c1', 'g', { numOutput: 6, kernel: 1, group: 2 })
    .conv('shared', 'c1', 'shared', { numOutput: 5, kernel: 1 })
    .pool('sp', 'shared', 'sp', { method: 'max', kernel: 2, stride: 2 })
    .eltwise('sum', ['shared', 'shared'], 'sum', 'sum')
    .model('heads');
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`forward with a channel subset (${backend})`, () => {
    beforeAll(async () => {
      await initBackend(backend);
    });
    const x = () => tf.tensor4d(randn(rng(4), 3 * 9 * 9 * 3), [3, 9, 9, 3]);

    const cases = [
      ['pool10', [7, 2, 7]],
      ['conv10', [11, 0]],
      ['fc', [9, 3]],
      ['fc', [9, 1, 4, 8, 0]],
      ['g', [5, 0]],
      ['sp', [4, 1]],
    ] as const;
    for (const [i, [blob, ch]] of cases.entries()) {
      // The fc weights of the 4th case are kept in blocks of 3 columns (as WebGPU's binding limit does to large fc layers).
      const maxWeightBytes = i === 3 ? 4 * 8 * 4 * 4 * 3 : undefined;
      it(`${blob} [${ch}]${maxWeightBytes ? ' (weights in blocks)' : ''} equals the whole blob cut, values and input gradients`, () => {
        const net = createNet(heads(), { maxWeightBytes });
        const xi = x();
        const channels = { [blob]: [...ch] };
        const part = net.forward(xi, [blob], { channels })[blob];
        const whole = net.forward(xi, [blob])[blob];
        const cutWhole = tf.gather(whole, tf.tensor1d([...ch], 'int32'), whole.rank - 1);
        expect(part.shape).toEqual(cutWhole.shape);
        expect(relErr(cutWhole.dataSync(), part.dataSync())).toBeLessThan(1e-6);
        const r = tf.tensor(randn(rng(5), part.size), part.shape);
        const gPart = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(net.forward(t as tf.Tensor4D, [blob], { channels })[blob], r)))(xi);
        const gWhole = tf.grad((t: tf.Tensor) => {
          const w = net.forward(t as tf.Tensor4D, [blob])[blob];
          return tf.sum(tf.mul(selectChannels(w, [...ch]), r));
        })(xi);
        expect(relErr(gWhole.dataSync(), gPart.dataSync())).toBeLessThan(1e-5);
        net.dispose();
      });
    }

    it('computes only the channels asked for where it can (conv10 for pool10 makes 2 channels)', async () => {
      const net = createNet(heads());
      const xi = x();
      const prof = await tf.profile(() => net.forward(xi, ['pool10', 'fc'], { channels: { pool10: [3, 4] } }).pool10);
      const convOut = prof.kernels.filter((k) => /Conv2D/.test(k.name)).map((k) => k.outputShapes[0]);
      expect(convOut).toContainEqual([3, 4, 4, 2]);
      expect(convOut).not.toContainEqual([3, 4, 4, 12]);
      net.dispose();
    });

    it('a blob asked for whole next to a cut one is computed whole', () => {
      const net = createNet(heads());
      const xi = x();
      const out = net.forward(xi, ['pool10', 'conv10'], { channels: { pool10: [1] } });
      expect(out.conv10.shape).toEqual([3, 4, 4, 12]);
      expect(out.pool10.shape).toEqual([3, 1, 1, 1]);
      const full = net.forward(xi, ['pool10']).pool10;
      expect(relErr(tf.gather(full, [1], 3).dataSync(), out.pool10.dataSync())).toBeLessThan(1e-6);
      net.dispose();
    });

    it('rejects channels out of range or for blobs not asked for', () => {
      const net = createNet(heads());
      const xi = x();
      expect(() => net.forward(xi, ['pool10'], { channels: { pool10: [12] } })).toThrow(/has 12 channels; no channel 12/);
      expect(() => net.forward(xi, ['pool10'], { channels: { fc: [1] } })).toThrow(/not among the blobs/);
      net.dispose();
    });
  });
}
