/**
 * A tiny hand-built network (Net-like) for optimisation tests: 3×3 conv (4 channels) + ReLU →
 * 2×2 max-pool → fc (5 units). Seeded weights; runs on whatever tfjs backend is active.
 */
import * as tf from '@tensorflow/tfjs';
import type { Model } from '../../pipeline/graph/types.ts';
import type { Net } from '../../pipeline/engine/net/types.ts';
import { Rng } from '../../pipeline/stages/optimize/rng.ts';

export function toyModel(size = 16): Model {
  const h = size,
    w = size;
  return {
    id: 'toy',
    source: 'test',
    preprocess: { size: [h, w], resize: [h, w], channelOrder: 'BGR', mean: [104, 117, 123], std: [1, 1, 1], scale: 1 },
    labels: ['a', 'b', 'c', 'd', 'e'].map((name, index) => ({ index, name, synset: `n0000000${index}` })),
    graph: {
      name: 'toy',
      input: { blob: 'data', shape: [3, h, w] },
      layers: [
        { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [3, h, w] },
        {
          kind: 'conv',
          name: 'conv1',
          bottoms: ['data'],
          tops: ['conv1'],
          numOutput: 4,
          kernel: [3, 3],
          stride: [1, 1],
          pad: [1, 1],
          dilation: [1, 1],
          group: 1,
          biasTerm: true,
        },
        { kind: 'relu', name: 'relu1', bottoms: ['conv1'], tops: ['conv1'], negativeSlope: 0 },
        { kind: 'pool', name: 'pool1', bottoms: ['conv1'], tops: ['pool1'], method: 'max', kernel: [2, 2], stride: [2, 2], pad: [0, 0], global: false },
        { kind: 'fc', name: 'fc', bottoms: ['pool1'], tops: ['fc'], numOutput: 5, biasTerm: true },
      ],
      blobs: [
        { name: 'data', shape: [3, h, w], producer: 'input', layer: 'data', rf: { size: [1, 1], stride: [1, 1], offset: [0, 0] } },
        { name: 'conv1', shape: [4, h, w], producer: 'relu', layer: 'conv1', rf: { size: [3, 3], stride: [1, 1], offset: [-1, -1] } },
        { name: 'pool1', shape: [4, h / 2, w / 2], producer: 'pool', layer: 'pool1', rf: { size: [4, 4], stride: [2, 2], offset: [-1, -1] } },
        { name: 'fc', shape: [5], producer: 'fc', layer: 'fc', rf: { size: [h, w], stride: [1, 1], offset: [0, 0] } },
      ],
    },
  };
}

export function toyNet(model = toyModel()): Net {
  const [h, w] = model.preprocess.size;
  const rng = new Rng('toy-weights');
  const rand = (shape: number[], sd: number) =>
    tf.tensor(
      Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rng.normal() * sd),
      shape,
    );
  const wc = rand([3, 3, 3, 4], 0.02);
  const bc = rand([4], 0.1);
  const wf = rand([(h / 2) * (w / 2) * 4, 5], 0.1);
  const bf = rand([5], 0.1);
  return {
    model,
    forward(input, blobs) {
      const conv1 = tf.relu(tf.add(tf.conv2d(input, wc as tf.Tensor4D, 1, 'same'), bc));
      const pool1 = tf.maxPool(conv1 as tf.Tensor4D, 2, 2, 'valid');
      const fc = tf.add(tf.matMul(tf.reshape(pool1, [input.shape[0], -1]), wf as tf.Tensor2D), bf);
      const all: Record<string, tf.Tensor> = { data: input, conv1, pool1, fc };
      const out: Record<string, tf.Tensor> = {};
      for (const b of blobs) out[b] = all[b];
      return out;
    },
    dispose() {
      tf.dispose([wc, bc, wf, bf]);
    },
  };
}
