/**
 * Today's networks (ONNX files as torch.onnx.export writes them: ResNet, MobileNet, EfficientNet,
 * ConvNeXt, ViT …) on both engines, in ONE process on the same inputs, one core each: the
 * TensorFlow.js executor on wasm and ONNX Runtime (one intra-op thread). Per model: forward img/s,
 * ms per img-step (forward + input gradient of one unit per image of a gallery layer in the middle
 * of the network, at its centre), and the engines' agreement (max |a − b| / max |a| of the logits
 * and of the input gradients).
 *
 *   node bin/run-ts.mjs scripts/bench-modern.ts --models resnet18.onnx,vit_b_16.onnx [--batch 4] [--reps 3] [--json]
 */
import { availableParallelism, loadavg } from 'node:os';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../pipeline/engine/backend.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import type { Net } from '../pipeline/engine/net/types.ts';
import { createOrtNet } from '../pipeline/engine/ort/net.ts';
import { defaultLayers } from '../pipeline/gallery/layers.ts';
import { classScoreBlob } from '../pipeline/graph/classes.ts';
import { loadModel } from '../pipeline/import/load.ts';

const { values: a } = parseArgs({
  options: {
    models: { type: 'string' },
    batch: { type: 'string', default: '4' },
    reps: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
if (!a.models) {
  console.error('bench-modern: --models file.onnx[,file.onnx…] is required');
  process.exit(2);
}
const BATCH = Number(a.batch);
const REPS = Number(a.reps);

interface Row {
  model: string;
  layer: string;
  engine: 'wasm' | 'onnxruntime';
  forwardImgPerSec: number;
  msPerImgStep: number;
}

/** Median of `reps` timed runs of f after one warm-up, in ms. */
function timed(f: () => void): number {
  f();
  const t: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
  }
  return t.sort((p, q) => p - q)[t.length >> 1];
}

const maxRel = (x: tf.Tensor, y: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(x, y))).dataSync()[0] / (tf.max(tf.abs(x)).dataSync()[0] || 1));

await initBackend('onnxruntime');
const rows: Row[] = [];
const agreement: { model: string; logits: number; inputGrad: number }[] = [];
for (const file of a.models.split(',')) {
  const model = await loadModel(file);
  const [C, H, W] = model.graph.input.shape;
  const layers = defaultLayers(model).filter((l) => model.graph.blobs.find((b) => b.name === l)?.shape.length === 3);
  const layer = layers[Math.floor(layers.length / 2)];
  const logits = classScoreBlob(model);
  const shape = model.graph.blobs.find((b) => b.name === layer)!.shape;
  const x = tf.randomUniform([BATCH, H, W, C], -2, 2, 'float32', 3) as tf.Tensor4D;
  // One unit per image at the centre of the layer: a seed over its channels-last tensor.
  const seed = tf.tidy(() => {
    const s = tf.buffer([BATCH, shape[1], shape[2], shape[0]]);
    for (let n = 0; n < BATCH; n++) s.set(1, n, shape[1] >> 1, shape[2] >> 1, (n * 7) % shape[0]);
    return s.toTensor();
  });
  const grad = (net: Net) => tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(net.forward(xi as tf.Tensor4D, [layer])[layer], seed)))(x);
  const outs: Record<string, { y: tf.Tensor; g: tf.Tensor }> = {};
  for (const engine of ['wasm', 'onnxruntime'] as const) {
    const net = engine === 'wasm' ? createNet(model) : createOrtNet(model, { threads: 1 });
    const fwd = timed(() => tf.dispose(net.forward(x, [logits])));
    const step = timed(() => grad(net).dispose());
    rows.push({ model: basename(file), layer, engine, forwardImgPerSec: (1000 * BATCH) / fwd, msPerImgStep: step / BATCH });
    outs[engine] = { y: net.forward(x, [logits])[logits], g: grad(net) };
    process.stderr.write(`${basename(file)} ${engine}: forward ${fwd.toFixed(0)} ms, img-step batch ${step.toFixed(0)} ms\n`);
    net.dispose();
  }
  agreement.push({ model: basename(file), logits: maxRel(outs.wasm.y, outs.onnxruntime.y), inputGrad: maxRel(outs.wasm.g, outs.onnxruntime.g) });
  tf.dispose([x, seed, ...Object.values(outs).flatMap((o) => [o.y, o.g])]);
  model.graph.weights?.clear();
}

if (a.json) console.log(JSON.stringify({ batch: BATCH, reps: REPS, cores: availableParallelism(), load: loadavg()[0], rows, agreement }, null, 1));
else {
  console.log(`\nToday's networks, one core per engine, batch ${BATCH}, median of ${REPS} (load ${loadavg()[0].toFixed(1)})\n`);
  console.log('| model | img-step layer | wasm fwd img/s | ORT fwd img/s | fwd ×| wasm ms/img-step | ORT ms/img-step | img-step × | logits rel | grad rel |');
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  for (const g of agreement) {
    const [w, o] = ['wasm', 'onnxruntime'].map((e) => rows.find((r) => r.model === g.model && r.engine === e)!);
    console.log(
      `| ${g.model} | ${w.layer} | ${w.forwardImgPerSec.toFixed(1)} | ${o.forwardImgPerSec.toFixed(1)} | ${(o.forwardImgPerSec / w.forwardImgPerSec).toFixed(2)} | ${w.msPerImgStep.toFixed(0)} | ${o.msPerImgStep.toFixed(0)} | ${(w.msPerImgStep / o.msPerImgStep).toFixed(2)} | ${g.logits.toExponential(1)} | ${g.inputGrad.toExponential(1)} |`,
    );
  }
}
