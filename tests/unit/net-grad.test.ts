import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import type { GradMode } from '../../pipeline/engine/net/types.ts';
import type { Model } from '../../pipeline/graph/types.ts';
import { dilateKernel } from '../../pipeline/engine/net/weights.ts';
import { setLoopKernels } from '../../pipeline/engine/net/kernels.ts';
import { GraphBuilder, randn, rng } from '../helpers/net-graph.ts';
import { relErr } from '../helpers/net-reference.ts';

/** Strides 4 and 2 (square and not), uneven sizes, groups, pad ≥ kernel, fused and plain ReLUs, pools, LRN, fc. */
function strides(): Model {
  return new GraphBuilder([3, 37, 35], 21)
    .conv('c1', 'data', 'c1', { numOutput: 8, kernel: 11, stride: 4, pad: 1 })
    .relu('r1', 'c1')
    .lrn('n1', 'c1', 'n1', 5, 0.3, 0.75, 1)
    .conv('c2', 'n1', 'c2', { numOutput: 6, kernel: 3, stride: [2, 1], pad: [1, 2], group: 2 })
    .relu('r2', 'c2', 'c2r')
    .pool('p2', 'c2r', 'p2', { method: 'max', kernel: 3, stride: 2 })
    .conv('c3', 'p2', 'c3', { numOutput: 5, kernel: 2, pad: 2 })
    .relu('r3', 'c3')
    .fc('fc', 'c3', 'fc', 7)
    .relu('rfc', 'fc')
    .fc('out', 'fc', 'out', 4)
    .model('strides');
}

/** GoogLeNet/SqueezeNet stems: 7×7/2 and 3×3/2, ceil pools with padding, AVE pool, concat, dilation. */
function stems(): Model {
  return new GraphBuilder([3, 30, 29], 22)
    .conv('c1', 'data', 'c1', { numOutput: 6, kernel: 7, stride: 2, pad: 3 })
    .relu('r1', 'c1')
    .pool('p1', 'c1', 'p1', { method: 'max', kernel: 3, stride: 2, pad: 1 })
    .conv('s1', 'p1', 's1', { numOutput: 4, kernel: 3, stride: 2 })
    .relu('rs1', 's1')
    .conv('e1', 's1', 'e1', { numOutput: 3, kernel: 1 })
    .conv('e3', 's1', 'e3', { numOutput: 3, kernel: 3, pad: 1 })
    .relu('re3', 'e3')
    .concat('cat', ['e1', 'e3'], 'cat')
    .conv('d1', 'cat', 'd1', { numOutput: 4, kernel: 3, pad: 2, dilation: 2 })
    .relu('rd1', 'd1')
    .conv('d2', 'p1', 'd2', { numOutput: 4, kernel: [3, 2], stride: 2, pad: 1, dilation: [2, 3] })
    .pool('ap', 'd1', 'ap', { method: 'ave', kernel: 3, stride: 2, pad: 1 })
    .pool('gap', 'd1', 'gap', { method: 'ave', global: true })
    .lrn('n2', 'e3', 'n2', 3, 2, 0.6, 1.5)
    .model('stems');
}

/** Depthwise convolutions (one channel per group) as MobileNet, EfficientNet and ConvNeXt use them: strides 1 and 2, uneven sizes, 3×3, 5×5, 7×7, dilation, fused ReLU. */
function depthwise(): Model {
  return new GraphBuilder([6, 23, 20], 23)
    .conv('dw1', 'data', 'dw1', { numOutput: 6, kernel: 3, pad: 1, group: 6 })
    .relu('r1', 'dw1')
    .conv('dw2', 'dw1', 'dw2', { numOutput: 6, kernel: 3, stride: 2, pad: 1, group: 6 })
    .conv('dw3', 'dw2', 'dw3', { numOutput: 6, kernel: 5, stride: 2, pad: 2, group: 6 })
    .conv('pw', 'dw3', 'pw', { numOutput: 4, kernel: 1 })
    .relu('rp', 'pw')
    .conv('dw4', 'pw', 'dw4', { numOutput: 4, kernel: 7, pad: 3, group: 4 })
    .conv('dw5', 'dw1', 'dw5', { numOutput: 6, kernel: 3, pad: 2, dilation: 2, group: 6 })
    .conv('dw6', 'dw1', 'dw6', { numOutput: 6, kernel: [3, 2], stride: [2, 3], pad: [0, 1], group: 6 })
    .model('depthwise');
}

/** Tfjs's stock conv gradient rejects dilation: the reference net writes the holes into the kernel. */
function undilated(model: Model): Model {
  const weights = new Map(model.graph.weights);
  const layers = model.graph.layers.map((l) => {
    if (l.kind !== 'conv' || (l.dilation[0] === 1 && l.dilation[1] === 1)) return l;
    const [w, ...rest] = weights.get(l.name)!;
    const d = dilateKernel({ shape: w.shape as [number, number, number, number], data: w.data }, l.dilation[0], l.dilation[1]);
    weights.set(l.name, [{ shape: d.shape, data: d.data }, ...rest]);
    return { ...l, kernel: [d.shape[2], d.shape[3]] as [number, number], dilation: [1, 1] as [number, number] };
  });
  return { ...model, graph: { ...model.graph, layers, weights } };
}

function gradOf(model: Model, fastGrad: boolean, x: tf.Tensor4D, blob: string, r: tf.Tensor, mode: GradMode, maxWeightBytes?: number) {
  const net = createNet(fastGrad ? model : undilated(model), { fastGrad, maxWeightBytes });
  const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(net.forward(xi as tf.Tensor4D, [blob], { gradMode: mode })[blob], r)))(x);
  const out = { grad: g.dataSync().slice(), value: tf.tidy(() => net.forward(x, [blob])[blob].dataSync().slice()) };
  g.dispose();
  net.dispose();
  return out;
}

const configs = [
  ['cpu', true],
  ['cpu', false],
  ['wasm', true],
] as const;
for (const [backend, loops] of configs) {
  describe(`fast input gradients equal stock tf.grad (${backend}${loops ? '' : ', without loop kernels'})`, () => {
    beforeAll(async () => {
      await initBackend(backend);
      setLoopKernels(loops);
    });
    const cases: [() => Model, string[]][] = [
      [strides, ['c1', 'n1', 'c2', 'c2r', 'p2', 'c3', 'fc', 'out']],
      [stems, ['c1', 'p1', 's1', 'cat', 'd1', 'd2', 'ap', 'gap', 'n2']],
      [depthwise, ['dw1', 'dw2', 'dw3', 'pw', 'dw4', 'dw5', 'dw6']],
    ];
    for (const [make, blobs] of cases) {
      for (const mode of ['backprop', 'deconv', 'guided'] as GradMode[]) {
        it(`${make.name}, ${mode}`, () => {
          const model = make();
          const [c, h, w] = model.graph.input.shape;
          const x = tf.tensor4d(randn(rng(3), 2 * h * w * c), [2, h, w, c]);
          const before = tf.memory().numTensors;
          for (const blob of blobs) {
            const shape = model.graph.blobs.find((b) => b.name === blob)!.shape;
            const outShape = shape.length === 3 ? [2, shape[1], shape[2], shape[0]] : [2, shape[0]];
            const r = tf.tensor(
              randn(
                rng(blob.length * 7 + 1),
                outShape.reduce((a, b) => a * b, 1),
              ),
              outShape,
            );
            const fast = gradOf(model, true, x, blob, r, mode);
            // The reference runs on the cpu backend: tfjs-wasm's MaxPoolGrad breaks ties (all-zero
            // windows after a ReLU, visible in deconv mode) differently from Caffe and tfjs-cpu.
            tf.setBackend('cpu');
            expect(tf.getBackend()).toBe('cpu');
            const stock = gradOf(model, false, x, blob, r, mode);
            tf.setBackend(backend);
            expect(relErr(stock.value, fast.value), `${blob} value`).toBeLessThan(1e-5);
            expect(relErr(stock.grad, fast.grad), `${blob} gradient`).toBeLessThan(1e-5);
            expect(Math.max(...stock.grad.map(Math.abs)), `${blob} gradient is not all zero`).toBeGreaterThan(0);
            r.dispose();
          }
          expect(tf.memory().numTensors).toBe(before);
          x.dispose();
        });
      }
    }

    it('fc weights kept in column blocks give the same gradients', () => {
      const model = strides();
      const [c, h, w] = model.graph.input.shape;
      const x = tf.tensor4d(randn(rng(3), 2 * h * w * c), [2, h, w, c]);
      for (const [blob, n] of [
        ['fc', 7],
        ['out', 4],
      ] as const) {
        const r = tf.tensor2d(randn(rng(n), 2 * n), [2, n]);
        const blocks = gradOf(model, true, x, blob, r, 'guided', 4 * 5 * 2);
        const whole = gradOf(model, true, x, blob, r, 'guided');
        expect(relErr(whole.value, blocks.value)).toBeLessThan(1e-6);
        expect(relErr(whole.grad, blocks.grad)).toBeLessThan(1e-6);
      }
    });

    it('deconv mode passes positive gradient through ReLUs whatever the forward sign; guided also masks', () => {
      // data → ReLU: d(out)/d(x) with upstream r = [+1, −1, +1, −1] at x = [+2, +3, −1, −4].
      const model = new GraphBuilder([4, 1, 1], 1).relu('r', 'data', 'y').model('relu');
      const net = createNet(model);
      const x = tf.tensor4d([2, 3, -1, -4], [1, 1, 1, 4]);
      const r = tf.tensor4d([1, -1, 1, -1], [1, 1, 1, 4]);
      const g = (mode: GradMode) =>
        Array.from(
          tf
            .grad((xi: tf.Tensor) => tf.sum(tf.mul(net.forward(xi as tf.Tensor4D, ['y'], { gradMode: mode }).y, r)))(x)
            .dataSync(),
          (v) => v + 0,
        );
      expect(g('backprop')).toEqual([1, -1, 0, 0]);
      expect(g('deconv')).toEqual([1, 0, 1, 0]);
      expect(g('guided')).toEqual([1, 0, 0, 0]);
      net.dispose();
    });
  });
}
