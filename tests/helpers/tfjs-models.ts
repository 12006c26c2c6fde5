/**
 * Keras-style TF.js models made in the tests (tf.sequential / tf.model), with seeded random
 * weights (biases and BatchNorm statistics included), saved as model.json + weight shards.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { randn, rng } from './net-graph.ts';

/** Every weight set from a seeded RNG; variances positive. */
export function randomizeWeights(model: tf.LayersModel, seed: number): void {
  const r = rng(seed);
  const ws = model.weights.map((w) => {
    const shape = w.shape.map((d) => d ?? 1);
    const n = shape.reduce((a, d) => a * d, 1);
    const fanIn = shape.length > 1 ? shape.slice(0, -1).reduce((a, d) => a * d, 1) : 1;
    let data = randn(r, n, shape.length > 1 ? Math.sqrt(2 / fanIn) : 0.3);
    if (/moving_variance/.test(w.name)) data = data.map((v) => 0.5 + Math.abs(v));
    if (/gamma/.test(w.name)) data = data.map((v) => 1 + v);
    return tf.tensor(data, shape);
  });
  model.setWeights(ws);
  ws.forEach((t) => t.dispose());
}

/** Saves a Layers model as `dir/model.json` with its weights split over `shards` files. */
export async function saveLayersModel(model: tf.LayersModel, dir: string, shards = 2): Promise<void> {
  mkdirSync(dir, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (a) => {
      const data = new Uint8Array(a.weightData as ArrayBuffer);
      const paths: string[] = [];
      const size = Math.ceil(data.length / shards);
      for (let i = 0; i < shards; i++) {
        const p = `group1-shard${i + 1}of${shards}.bin`;
        writeFileSync(join(dir, p), data.subarray(i * size, Math.min((i + 1) * size, data.length)));
        paths.push(p);
      }
      const json = {
        format: 'layers-model',
        generatedBy: 'deepvis tests',
        convertedBy: null,
        modelTopology: a.modelTopology,
        weightsManifest: [{ paths, weights: a.weightSpecs }],
      };
      writeFileSync(join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
}

/** A Sequential CNN: same/valid convs, BN, pooling, padding, depthwise/separable convs, dense + softmax. */
export function sequentialCnn(): tf.Sequential {
  const L = tf.layers;
  const m = tf.sequential({ name: 'seqcnn' });
  m.add(L.conv2d({ name: 'conv1', inputShape: [29, 31, 3], filters: 8, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }));
  m.add(L.batchNormalization({ name: 'bn1', epsilon: 1e-3 }));
  m.add(
    L.zeroPadding2d({
      name: 'pad1',
      padding: [
        [1, 0],
        [2, 1],
      ],
    }),
  );
  m.add(L.depthwiseConv2d({ name: 'dw', kernelSize: 3, depthMultiplier: 2, padding: 'valid', activation: 'relu6' }));
  m.add(L.maxPooling2d({ name: 'pool1', poolSize: 3, strides: 2, padding: 'same' }));
  m.add(L.separableConv2d({ name: 'sep', filters: 12, kernelSize: 3, padding: 'same', activation: 'sigmoid' }));
  m.add(L.leakyReLU({ name: 'leaky', alpha: 0.2 }));
  m.add(L.averagePooling2d({ name: 'pool2', poolSize: 2, strides: 2, padding: 'same' }));
  m.add(L.conv2d({ name: 'conv2', filters: 10, kernelSize: [2, 3], dilationRate: 1, padding: 'valid', activation: 'elu' }));
  m.add(L.flatten({ name: 'flat' }));
  m.add(L.dropout({ name: 'drop', rate: 0.5 }));
  m.add(L.dense({ name: 'fc1', units: 16, activation: 'tanh' }));
  m.add(L.dense({ name: 'fc2', units: 5, activation: 'softmax' }));
  return m;
}

/** A functional model: branches, Add, Concatenate, Conv2DTranspose, Cropping, PReLU, Permute/Reshape, GAP. */
/** `bnCenter: false` (BatchNorm without beta) breaks tfjs' own gradients (tape error), so gradient tests pass true. */
export function functionalCnn(bnCenter = false): tf.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [24, 20, 4], name: 'image' });
  const a = L.conv2d({ name: 'a_conv', filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(input) as tf.SymbolicTensor;
  const b = L.conv2d({ name: 'b_conv', filters: 6, kernelSize: 1, useBias: false }).apply(input) as tf.SymbolicTensor;
  const b2 = L.batchNormalization({ name: 'b_bn', center: bnCenter }).apply(b) as tf.SymbolicTensor;
  const sum = L.add({ name: 'sum' }).apply([a, b2]) as tf.SymbolicTensor;
  const act = L.activation({ name: 'act', activation: 'tanh' }).apply(sum) as tf.SymbolicTensor;
  const cat = L.concatenate({ name: 'cat' }).apply([act, a]) as tf.SymbolicTensor;
  const down = L.conv2d({ name: 'down', filters: 8, kernelSize: 3, strides: 2, padding: 'valid' }).apply(cat) as tf.SymbolicTensor;
  const prelu = L.prelu({ name: 'prelu', sharedAxes: [1, 2] }).apply(down) as tf.SymbolicTensor;
  const up = L.conv2dTranspose({ name: 'up', filters: 5, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }).apply(prelu) as tf.SymbolicTensor;
  const crop = L.cropping2D({
    name: 'crop',
    cropping: [
      [1, 2],
      [0, 1],
    ],
  }).apply(up) as tf.SymbolicTensor;
  const relu6 = L.reLU({ name: 'relu6', maxValue: 6 }).apply(crop) as tf.SymbolicTensor;
  const perm = L.permute({ name: 'perm', dims: [3, 1, 2] }).apply(relu6) as tf.SymbolicTensor;
  const resh = L.reshape({ name: 'resh', targetShape: [19, 5, 17] }).apply(perm) as tf.SymbolicTensor;
  const gap = L.globalAveragePooling2d({ name: 'gap' }).apply(relu6) as tf.SymbolicTensor;
  const mul = L.multiply({ name: 'mul' }).apply([
    gap,
    L.dense({ name: 'gate', units: 5, activation: 'sigmoid' }).apply(gap) as tf.SymbolicTensor,
  ]) as tf.SymbolicTensor;
  const flat = L.flatten({ name: 'flat' }).apply(resh) as tf.SymbolicTensor;
  const both = L.concatenate({ name: 'both' }).apply([flat, mul]) as tf.SymbolicTensor;
  const out = L.dense({ name: 'logits', units: 4 }).apply(both) as tf.SymbolicTensor;
  const prob = L.softmax({ name: 'prob' }).apply(out) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: prob, name: 'funccnn' });
}

/**
 * A base network inside a Sequential, as Keras applications are used: conv, LayerNormalization over
 * the channels, a strided conv, LayerNormalization over all axes; then pooling and a softmax head.
 */
export function nestedLayerNormModel(): tf.LayersModel {
  const L = tf.layers;
  const input = tf.input({ shape: [12, 10, 3], name: 'base_input' });
  let x = L.conv2d({ name: 'base_conv', filters: 6, kernelSize: 3, padding: 'same' }).apply(input) as tf.SymbolicTensor;
  x = L.layerNormalization({ name: 'base_ln', axis: -1 }).apply(x) as tf.SymbolicTensor;
  x = L.conv2d({ name: 'base_conv2', filters: 4, kernelSize: 3, strides: 2, activation: 'relu' }).apply(x) as tf.SymbolicTensor;
  x = L.layerNormalization({ name: 'base_ln_all', axis: [1, 2, 3], epsilon: 1e-5 }).apply(x) as tf.SymbolicTensor;
  const base = tf.model({ inputs: input, outputs: x, name: 'backbone' });
  const outer = tf.sequential({ name: 'app' });
  outer.add(base);
  outer.add(L.globalAveragePooling2d({ name: 'gap' }));
  outer.add(L.dense({ name: 'head', units: 5, activation: 'softmax' }));
  return outer;
}
