import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import type { Model } from '../../pipeline/graph/types.ts';
import { GraphBuilder, randn, rng } from '../helpers/net-graph.ts';
import { referenceForward, relErr, toNhwc, type Arr } from '../helpers/net-reference.ts';

/** CaffeNet-like: strided conv, in-place ReLU, ceil max pool, LRN, grouped conv, padded AVE pool, dilation, fc from C×H×W. */
function caffenetLike(): Model {
  return new GraphBuilder([3, 23, 23], 11)
    .conv('conv1', 'data', 'conv1', { numOutput: 8, kernel: 5, stride: 2, pad: 1 })
    .relu('relu1', 'conv1')
    .pool('pool1', 'conv1', 'pool1', { method: 'max', kernel: 3, stride: 2 })
    .lrn('norm1', 'pool1', 'norm1', 5, 0.5, 0.75, 2)
    .conv('conv2', 'norm1', 'conv2', { numOutput: 8, kernel: 3, pad: 1, group: 2 })
    .relu('relu2', 'conv2', 'conv2r')
    .pool('pool2', 'conv2r', 'pool2', { method: 'ave', kernel: 3, stride: 2, pad: 1 })
    .conv('conv3', 'pool2', 'conv3', { numOutput: 6, kernel: [3, 2], pad: [2, 1], dilation: 2 })
    .relu('relu3', 'conv3', 'conv3', 0.1)
    .fc('fc4', 'conv3', 'fc4', 10)
    .relu('relu4', 'fc4')
    .identity('drop4', 'fc4', ['fc4'])
    .fc('fc5', 'fc4', 'fc5', 7)
    .softmax('prob', 'fc5', 'prob')
    .model('caffenet-like');
}

/** Inception-like: branches, concat, eltwise, scale/BN, global pools, flatten, split. */
function inceptionLike(): Model {
  return new GraphBuilder([4, 9, 10], 12)
    .conv('c1', 'data', 'c1', { numOutput: 6, kernel: 1 })
    .batchnorm('bn1', 'c1', 'c1')
    .scale('sc1', 'c1', 'c1')
    .relu('r1', 'c1')
    .conv('c3', 'data', 'c3', { numOutput: 6, kernel: 3, pad: 1 })
    .relu('r3', 'c3')
    .pool('mp', 'data', 'mp', { method: 'max', kernel: 3, stride: 1, pad: 1 })
    .conv('mpc', 'mp', 'mpc', { numOutput: 6, kernel: 1, bias: false })
    .concat('cat', ['c1', 'c3', 'mpc'], 'cat')
    .eltwise('sum', ['c1', 'c3', 'mpc'], 'sum', 'sum', [1, -0.5, 2])
    .eltwise('prod', ['c1', 'c3'], 'prod', 'prod')
    .eltwise('max', ['c3', 'mpc'], 'max', 'max')
    .identity('split', 'cat', ['cat_a', 'cat_b'])
    .pool('gap', 'cat_a', 'gap', { method: 'ave', global: true })
    .pool('gmp', 'cat_b', 'gmp', { method: 'max', global: true })
    .concat('gcat', ['gap', 'gmp'], 'gcat')
    .flatten('flat', 'sum', 'flat')
    .fc('fc', 'flat', 'fc', 5)
    .softmax('sm', 'cat', 'sm')
    .model('inception-like');
}

/** Pooling size corner cases (Caffe CEIL and the clipped last window). */
function poolCorners(): Model {
  return new GraphBuilder([3, 8, 7], 13)
    .pool('p1', 'data', 'p1', { method: 'max', kernel: 3, stride: 2, pad: 1 })
    .pool('p2', 'data', 'p2', { method: 'ave', kernel: 3, stride: 2, pad: 1 })
    .pool('p3', 'data', 'p3', { method: 'max', kernel: 2, stride: 2 })
    .pool('p4', 'data', 'p4', { method: 'ave', kernel: [3, 2], stride: [3, 2], pad: [2, 1] })
    .pool('p5', 'data', 'p5', { method: 'ave', kernel: 3, stride: 3 })
    .pool('p6', 'data', 'p6', { method: 'max', kernel: 4, stride: 3, pad: 2 })
    .conv('sd', 'data', 'sd', { numOutput: 4, kernel: 2, stride: 2, pad: 1, dilation: 2 })
    .lrn('lrn3', 'data', 'lrn3', 3, 2, 0.6, 1.5)
    .model('pool-corners');
}

function input(model: Model, n: number, seed: number): Arr {
  const [c, h, w] = model.graph.input.shape;
  return { shape: [n, c, h, w], data: Float64Array.from(randn(rng(seed), n * c * h * w)) };
}

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`net forward equals a float64 Caffe reference (${backend})`, () => {
    beforeAll(async () => {
      await initBackend(backend);
    });
    afterAll(() => tf.disposeVariables());

    for (const make of [caffenetLike, inceptionLike, poolCorners]) {
      for (const [fastGrad, maxWeightBytes] of [
        [true, undefined],
        [false, undefined],
        [true, 400],
      ] as const) {
        const blocks = maxWeightBytes ? ', fc weights in column blocks' : '';
        it(`${make.name} (${fastGrad ? 'fast' : 'stock'} ops${blocks})`, () => {
          const model = make();
          const x = input(model, 2, 5);
          const ref = referenceForward(model.graph, x);
          const net = createNet(model, { fastGrad, maxWeightBytes });
          const before = tf.memory().numTensors;
          const names = model.graph.blobs.map((b) => b.name).filter((b) => b !== 'data');
          const xt = tf.tensor4d(toNhwc(x), [2, x.shape[2], x.shape[3], x.shape[1]]);
          const all = net.forward(xt, names);
          for (const name of names) {
            const r = ref.get(name)!;
            const got = all[name];
            const refShape = r.shape.length === 4 ? [r.shape[0], r.shape[2], r.shape[3], r.shape[1]] : r.shape;
            expect(got.shape, name).toEqual(refShape);
            expect(relErr(toNhwc(r), got.dataSync()), name).toBeLessThan(2e-5);
            // One blob at a time runs only what it needs and gives the same values.
            const single = net.forward(xt, [name]);
            expect(relErr(got.dataSync(), single[name].dataSync()), `${name} alone`).toBe(0);
            tf.dispose(single);
          }
          tf.dispose(all);
          xt.dispose();
          expect(tf.memory().numTensors).toBe(before);
          net.dispose();
        });
      }
    }

    it('an unknown blob or a wrong input shape is a one-line UserError', () => {
      const net = createNet(poolCorners());
      const x = tf.zeros([1, 8, 7, 3]) as tf.Tensor4D;
      expect(() => net.forward(x, ['nope'])).toThrow(/no blob "nope"/);
      expect(() => net.forward(tf.zeros([1, 7, 8, 3]) as tf.Tensor4D, ['p1'])).toThrow(/input must be N×8×7×3/);
      x.dispose();
      net.dispose();
    });
  });
}
