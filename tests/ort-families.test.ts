// The ONNX Runtime engine on today's network families (tests/helpers/onnx-families.ts: ResNet,
// MobileNetV2/V3, EfficientNet, ConvNeXt, ViT in both LayerNorm forms, timm's attention, a Resize
// pyramid, a tf2onnx CNN; Keras models through TF.js: a functional CNN with Conv2DTranspose,
// PReLU, Permute and Reshape, a nested model with LayerNormalization) against the TensorFlow.js executor: every blob within 1e-4 of its largest
// value; input gradients of a class unit and of a hidden unit in each gradient mode within 1e-3.
import * as tf from '@tensorflow/tfjs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../pipeline/engine/backend.ts';
import { createNet as createTfjsNet } from '../pipeline/engine/net/build.ts';
import type { Net } from '../pipeline/engine/net/types.ts';
import { createOrtNet } from '../pipeline/engine/ort/net.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { importOnnx } from '../pipeline/import/onnx/import.ts';
import { readModel } from '../pipeline/import/onnx/proto.ts';
import { FAMILIES, tf2onnxCnn } from './helpers/onnx-families.ts';
import type { BuiltModel } from './helpers/onnx-models.ts';
import { functionalCnn, nestedLayerNormModel, randomizeWeights, saveLayersModel } from './helpers/tfjs-models.ts';
import { expectEveryBlobClose, inputGrad, maxRel } from './helpers/net-compare.ts';

function modelOf(m: BuiltModel): Model {
  const { graph } = importOnnx(readModel(m.bytes, 'test.onnx'), { file: 'test.onnx' });
  const [, , H, W] = m.dims;
  return {
    id: 'test',
    graph,
    source: 'test.onnx',
    preprocess: { size: [H, W], resize: [H, W], channelOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 },
  };
}

/**
 * A seed selecting one unit per image: of a [N, C] blob channel c; of a channels-last map, at its
 * centre, the channel most active there (so that it is not a dead ReLU unit).
 */
function unitSeed(y: tf.Tensor): tf.Tensor {
  const shape = y.shape;
  const v = y.arraySync() as unknown as number[][];
  const s = tf.buffer(shape);
  for (let n = 0; n < shape[0]; n++) {
    const at = shape.slice(1, -1).map((d) => d >> 1);
    const row = at.reduce<unknown>((a, i) => (a as unknown[])[i], v[n]) as number[] | number;
    const c = Array.isArray(row) && at.length > 0 ? row.indexOf(Math.max(...row)) : (n * 5 + 3) % shape[shape.length - 1];
    s.set(1, n, ...at, c);
  }
  return s.toTensor();
}

/** A Keras model saved as TF.js Layers and imported. */
async function kerasModel(build: () => tf.LayersModel, seed: number): Promise<Model> {
  const m = build();
  randomizeWeights(m, seed);
  const dir = mkdtempSync(join(tmpdir(), 'deepvis-ort-keras-'));
  await saveLayersModel(m, dir);
  return loadModel(dir);
}

const onnx = (build: () => BuiltModel) => async () => modelOf(build());
const CASES: Record<string, () => Promise<Model>> = {
  ...Object.fromEntries(Object.entries(FAMILIES).map(([name, build]) => [name, onnx(build)])),
  'tf2onnx CNN (NHWC input)': onnx(() => tf2onnxCnn()),
  'Keras functional CNN via TF.js': () => kerasModel(() => functionalCnn(true), 5),
  'Keras nested model with LayerNormalization via TF.js': () => kerasModel(nestedLayerNormModel, 8),
};

beforeAll(async () => {
  await initBackend('onnxruntime');
});

describe.each(Object.entries(CASES))('onnxruntime engine = TensorFlow.js executor: %s', (_name, load) => {
  let model: Model;
  let ref: Net;
  let ort: Net;
  let x: tf.Tensor4D;
  beforeAll(async () => {
    model = await load();
    ref = createTfjsNet(model);
    ort = createOrtNet(model, { threads: 1 });
    const [C, H, W] = model.graph.input.shape;
    x = tf.randomNormal([2, H, W, C], 0, 1, 'float32', 7) as tf.Tensor4D;
  });

  it('every blob within 1e-4 of its largest value', () => {
    expect(expectEveryBlobClose(model, ref, ort, x, 1e-4)).toBeGreaterThan(5);
  });

  for (const mode of ['backprop', 'deconv', 'guided'] as const) {
    it(`input gradients of a class unit and a hidden unit, ${mode}, within 1e-3`, () => {
      const hidden = model.graph.blobs.filter((b) => b.shape.length === 3 && b.shape[1] > 1).at(-1)!.name;
      const classBlob = model.graph.blobs.some((b) => b.name === 'logits') ? 'logits' : model.graph.blobs.at(-1)!.name;
      for (const blob of [classBlob, hidden]) {
        const seed = tf.tidy(() => unitSeed(ref.forward(x, [blob])[blob]));
        const ga = inputGrad(ref, x, blob, seed, mode);
        const gb = inputGrad(ort, x, blob, seed, mode);
        expect(maxRel(ga, gb), `${blob} ${mode}`).toBeLessThan(1e-3);
        expect(
          tf.tidy(() => tf.max(tf.abs(ga)).dataSync()[0]),
          `${blob} ${mode}: a gradient reaches the input`,
        ).toBeGreaterThan(0);
        tf.dispose([seed, ga, gb]);
      }
    });
  }
});
