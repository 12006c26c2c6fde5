/**
 * What scripts/device/run.sh runs on the GPU machine (bundled into .device/app/scripts/device/bench.mjs), or here on
 * SwiftShader with --smoke (tiny sizes, to know it works before a GPU is lent):
 *
 * 1. ms per img-step — forward + input gradient of one unit per image, as scripts/torch-reference.py
 *    computes it — for CaffeNet (random weights) and GoogLeNet on --backend webgpu at each batch,
 *    beside the same computation in PyTorch (CUDA when there is one, fp32), and their ratio.
 * 2. A resumable slice of the GoogLeNet gallery (every --every-th unit of each default layer,
 *    p3 × 4 seeds, --steps steps, then max images + deconv of those units over --images), timed,
 *    and extrapolated to the whole gallery: every unit, the preset's own steps, --gallery-images.
 *
 *   node .device/app/scripts/device/bench.mjs --assets DIR [--smoke] [--batches 32,64,128,256] [--every 20] [--steps 256] [--data DIR]
 */
import * as tf from '@tensorflow/tfjs-core';
import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import { defaultLayers } from '../../pipeline/gallery/layers.ts';
import { classScoreBlob } from '../../pipeline/graph/classes.ts';
import type { Model } from '../../pipeline/graph/types.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { withRandomWeights } from '../../pipeline/import/random-weights.ts';
import { optimize, scan } from '../../pipeline/index.ts';
import { OPTIMIZE_PRESETS } from '../../pipeline/stages/optimize/presets.ts';
import { provideHandlerTable } from '../../pipeline/engine/workers/handlers.ts';
import { handlers as optimizeHandlers } from '../../pipeline/stages/optimize/handlers.ts';
import { handlers as scanHandlers } from '../../pipeline/stages/scan/handlers.ts';
import { measureTorch } from '../torch-reference.ts';

// One bundled file: the stages' handlers run in this thread from these tables (workers: 0 below).
provideHandlerTable('optimize', optimizeHandlers);
provideHandlerTable('scan', scanHandlers);

const { values: a } = parseArgs({
  options: {
    assets: { type: 'string' },
    smoke: { type: 'boolean', default: false },
    batches: { type: 'string' },
    every: { type: 'string' },
    steps: { type: 'string' },
    images: { type: 'string' },
    'gallery-images': { type: 'string', default: '1000' },
    data: { type: 'string', default: join(process.cwd(), '.device-data') },
    'real-weights': { type: 'boolean', default: false },
  },
});
const fail = (msg: string): never => {
  console.error(`bench-gpu: ${msg}`);
  process.exit(2);
};
const assets = a.assets ?? process.env.DEEPVIS_ASSETS ?? fail('--assets DIR (the models and images) is required');
const smoke = a.smoke;
// Batches past the adapter's maxStorageBufferBindingSize for one activation fail, and say so in their row.
const batches = (a.batches ?? (smoke ? '1' : '32,64,128,256')).split(',').map(Number);
/** The slice's stages take the batch the device allows (engine/batch-size.ts); the smoke run one image. */
const stageBatch = smoke ? 1 : undefined;
const every = Number(a.every ?? 20);
const steps = Number(a.steps ?? (smoke ? 1 : 256));
const images = Number(a.images ?? (smoke ? 1 : 64));
const galleryImages = Number(a['gallery-images']);
// --smoke: one seed, and unit 0 of the first and last default layers only.
const SEEDS = smoke ? [0] : [0, 1, 2, 3];
const PRESET = 'p3';

const backend = await initBackend('webgpu');
const say = (s: string) => console.log(s);
say(`deepvis GPU bench — backend ${backend}, adapter ${process.env.DEEPVIS_GPU_ADAPTER ?? 'gpu'}${smoke ? ' (smoke: tiny sizes)' : ''}`);

/** GoogLeNet with its own weights when they were carried (--real-weights), else random ones: the timing is the same. */
async function models(): Promise<{ name: string; model: Model }[]> {
  const caffenet = withRandomWeights(await loadModel(join(assets, 'models', 'caffenet-yos')), 1);
  const g = await loadModel(join(assets, 'models', 'bvlc_googlenet'), a['real-weights'] ? {} : { weights: false });
  const googlenet = a['real-weights'] ? g : withRandomWeights(g, 1);
  return [
    { name: 'CaffeNet (random weights)', model: caffenet },
    { name: `GoogLeNet (${a['real-weights'] ? 'its weights' : 'random weights'})`, model: googlenet },
  ];
}

/** ms per img-step on webgpu: the unit (n·97 mod C) of each image at the blob's centre, as torch-reference.py. */
async function webgpuStep(model: Model, blob: string, batch: number, reps: number): Promise<number> {
  const net = createNet(model);
  try {
    const [C, H, W] = model.graph.input.shape;
    const shape = model.graph.blobs.find((b) => b.name === blob)!.shape;
    const sel = tf.tidy(() => {
      const t = tf.buffer(shape.length === 3 ? [batch, shape[1], shape[2], shape[0]] : [batch, shape[0]]);
      for (let n = 0; n < batch; n++) {
        const c = (n * 97) % shape[0];
        if (shape.length === 3) t.set(1, n, shape[1] >> 1, shape[2] >> 1, c);
        else t.set(1, n, c);
      }
      return t.toTensor();
    });
    const x = tf.tidy(() => tf.mul(tf.randomNormal([batch, H, W, C], 0, 1, 'float32', 1), 10));
    const step = () => tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(net.forward(xi as tf.Tensor4D, [blob])[blob], sel)))(x);
    const sync = async (g: tf.Tensor) => {
      const s = tf.sum(g);
      await s.data();
      tf.dispose([g, s]);
    };
    await sync(step()); // shaders compiled, weights uploaded
    const t = performance.now();
    for (let r = 0; r < reps; r++) {
      const g = step();
      if (r < reps - 1) g.dispose();
      else await sync(g);
    }
    const ms = (performance.now() - t) / reps / batch;
    tf.dispose([sel, x]);
    return ms;
  } finally {
    net.dispose();
  }
}

const cuda = !smoke;
say('\n## ms per img-step (forward + input gradient of one class unit per image), fp32');
say(`| model | batch | deepvis webgpu | PyTorch (${cuda ? 'CUDA' : 'CPU'}) | ratio |`);
say('|---|---|---|---|---|');
for (const { name, model } of await models()) {
  const blob = classScoreBlob(model);
  for (const batch of batches) {
    let gpu: number | string;
    try {
      gpu = await webgpuStep(model, blob, batch, smoke ? 1 : 5);
    } catch (e) {
      gpu = `failed: ${(e as Error).message.split('\n')[0]}`;
    }
    const torch = await measureTorch(model, blob, { batch, threads: availableParallelism(), device: cuda ? 'cuda' : 'cpu', reps: smoke ? 1 : 5 });
    const ref = typeof torch === 'string' ? torch : torch.msPerImgStep;
    const ratio = typeof gpu === 'number' && typeof ref === 'number' ? `${(gpu / ref).toFixed(2)}×` : '–';
    const ms = (v: number | string) => (typeof v === 'number' ? v.toFixed(3) : v);
    say(`| ${name} | ${batch} | ${ms(gpu)} | ${ms(ref)} | ${ratio} |`);
  }
}

// The gallery slice: GoogLeNet, every `every`-th unit of each default layer.
const googlenet = (await models())[1].model;
const galleryLayers = defaultLayers(googlenet);
const layers = smoke ? [galleryLayers[0], galleryLayers[galleryLayers.length - 1]] : galleryLayers;
const units = Object.fromEntries(
  layers.map((l) => {
    const n = googlenet.graph.blobs.find((b) => b.name === l)!.shape[0];
    return [l, smoke ? [0] : Array.from({ length: Math.ceil(n / every) }, (_, i) => i * every)];
  }),
);
const sliceUnits = Object.values(units).reduce((s, u) => s + u.length, 0);
const allUnits = galleryLayers.reduce((s, l) => s + googlenet.graph.blobs.find((b) => b.name === l)!.shape[0], 0);
const photoDir = join(assets, 'images', smoke ? 'ilsvrc2012-val' : 'imagenet-sample');
const photos = readdirSync(photoDir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .slice(0, images)
  .map((f) => join(photoDir, f));
const common = { data: a.data, backend: 'webgpu', workers: 0, quiet: true } as const;
say(
  `\n## Gallery slice: GoogLeNet, ${smoke ? 'unit 0 of 2' : `every ${every}th unit of ${layers.length}`} layers (${sliceUnits} of ${allUnits} units), ${PRESET} × ${SEEDS.length} seeds, ${steps} steps → ${a.data} (resumable)`,
);
let t = performance.now();
const opt = await optimize(googlenet, {
  ...common,
  layers: layers.map((l) => ({ name: l, units: units[l] })),
  presets: [PRESET],
  seeds: SEEDS,
  steps,
  batch: stageBatch,
});
const optMs = performance.now() - t;
// The scan pass over the photos (every unit of each layer tracked), then the patches + deconv of the slice's units.
t = performance.now();
const pass = await scan(googlenet, { ...common, images: photos, layers, units, k: 9, render: false, batch: stageBatch });
const passMs = performance.now() - t;
t = performance.now();
await scan(googlenet, { ...common, images: photos, layers, units, k: 9, render: true, batch: stageBatch });
const renderMs = performance.now() - t;
say(`optimize: ${opt.done} images computed (${opt.total - opt.done} done before) in ${(optMs / 1000).toFixed(1)} s, batch ${opt.batch ?? '–'}`);
say(
  `scan: ${pass.scanned} images in ${(passMs / 1000).toFixed(1)} s; patches + deconv of the top 9 for ${sliceUnits} units in ${(renderMs / 1000).toFixed(1)} s`,
);
const fullSteps = OPTIMIZE_PRESETS[PRESET].steps;
if (opt.done > 0 && pass.scanned > 0) {
  const optFull = (optMs / (opt.done * steps)) * allUnits * SEEDS.length * fullSteps;
  const scanFull = (passMs / pass.scanned) * galleryImages + renderMs * (allUnits / sliceUnits);
  const min = (ms: number) => (ms / 60000).toFixed(1);
  say(
    `extrapolated whole gallery (${allUnits} units × ${SEEDS.length} seeds × ${fullSteps} steps; ${galleryImages} images): optimize ${min(optFull)} min + scan ${min(scanFull)} min = ${min(optFull + scanFull)} min`,
  );
} else say('extrapolation: nothing was computed in this run (the slice was done before; delete the data folder to time it again)');
