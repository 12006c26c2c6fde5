/**
 * `deepvis optimize` benchmark.
 *
 * Speed: img-steps/s of the render loop (p3 on the class blob) for GoogLeNet and SqueezeNet, one
 * net in this thread at batch 1 and at --batch, and the worker pool (--workers) at --batch.
 *
 * Quality (cross-model recognisability): for --quality-units random GoogLeNet class units, one
 * image per preset; the share of images SqueezeNet puts the unit's class in its top-5 (and
 * GoogLeNet's own top-1), measured on the saved WebP.
 *
 *   DEEPVIS_ASSETS=../shared node bin/run-ts.mjs scripts/bench-optimize.ts \
 *     [--speed-steps 5] [--batch 8] [--workers 2] [--quality-units 50] [--quality-steps N] [--presets all] [--skip-speed] [--skip-quality]
 */
import * as tf from '@tensorflow/tfjs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../pipeline/engine/backend.ts';
import { readUnitRecord } from '../pipeline/content/unit-store.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import { calibrate } from '../pipeline/stages/optimize/calibrate.ts';
import type { OptImageRecord } from '../pipeline/stages/optimize/jobs.ts';
import { OPTIMIZE_PRESET_NAMES, OPTIMIZE_PRESETS } from '../pipeline/stages/optimize/presets.ts';
import { render } from '../pipeline/stages/optimize/ascent.ts';
import { Rng, jobRng } from '../pipeline/stages/optimize/rng.ts';
import { optimize } from '../pipeline/stages/optimize/stage.ts';
import { createRunner } from '../pipeline/engine/workers/runner.ts';
import { OPTIMIZE_HANDLERS } from '../pipeline/stages/optimize/handler-table.ts';
import { evaluateImages } from './optimize/eval.ts';

const { values: a } = parseArgs({
  options: {
    'speed-steps': { type: 'string', default: '5' },
    batch: { type: 'string', default: '8' },
    workers: { type: 'string', default: '2' },
    'quality-units': { type: 'string', default: '50' },
    'quality-steps': { type: 'string' },
    presets: { type: 'string', default: 'all' },
    out: { type: 'string', default: '.cache/bench-optimize' },
    'skip-speed': { type: 'boolean' },
    'skip-quality': { type: 'boolean' },
  },
});
if (!process.env.DEEPVIS_ASSETS) throw new Error('set DEEPVIS_ASSETS to the shared assets folder');
const backend = await initBackend('wasm');
const MODELS: { spec: string; blob: string }[] = [
  { spec: 'bvlc_googlenet', blob: 'loss3/classifier' },
  { spec: 'squeezenet_v1.1', blob: 'pool10' },
];
const lines: string[] = [];
const say = (s: string) => {
  lines.push(s);
  console.log(s);
};

async function speedLocal(model: Model, blob: string, batch: number, steps: number): Promise<number> {
  const net = createNet(model);
  const cal = await calibrate(net, model.id, blob, 'center', model.graph.blobs.find((b) => b.name === blob)!.shape[0], false);
  const req = (s: number) => ({
    blob,
    objective: 'center' as const,
    preset: OPTIMIZE_PRESETS.p3,
    steps: s,
    gradScale: cal.scale,
    images: Array.from({ length: batch }, (_, i) => ({ unit: i, rng: jobRng(model.id, blob, i, 'bench', 0) })),
  });
  await render(net, req(1)); // warm-up
  const t0 = performance.now();
  await render(net, req(steps));
  const rate = (batch * steps * 1000) / (performance.now() - t0);
  net.dispose();
  return rate;
}

async function speedPool(model: Model, blob: string, batch: number, steps: number, workers: number): Promise<number> {
  const runner = await createRunner({ model, backend: 'wasm', workers, handlers: OPTIMIZE_HANDLERS });
  const dataRoot = resolve(a.out!, 'speed');
  const n = batch * runner.size * 2;
  const layers = [{ name: blob, units: Array.from({ length: n }, (_, i) => i) }];
  try {
    const base = {
      dataRoot,
      layers,
      presets: ['p3'],
      seeds: [0],
      batch,
      objective: 'center' as const,
      lrMode: 'calibrated' as const,
      resume: false,
      backend: 'wasm' as const,
      runner,
      quiet: true,
    };
    await optimize(model, { ...base, steps: 1 }); // warm-up: calibration, pre-ReLU nets, kernels
    const s = await optimize(model, { ...base, steps });
    return (s.imgSteps * 1000) / s.wallMs;
  } finally {
    await runner.close();
  }
}

if (!a['skip-speed']) {
  const steps = Number(a['speed-steps']);
  const batch = Number(a.batch);
  const workers = Number(a.workers);
  say(`## optimize speed (img-steps/s, p3, ${backend}, ${steps} steps after warm-up)`);
  say('| model | blob | 1 thread, batch 1 | 1 thread, batch ' + batch + ` | ${workers} workers, batch ${batch} |`);
  say('|---|---|---|---|---|');
  for (const m of MODELS) {
    const model = await loadModel(m.spec);
    const r1 = await speedLocal(model, m.blob, 1, steps);
    const rb = await speedLocal(model, m.blob, batch, steps);
    const rp = await speedPool(model, m.blob, batch, steps, workers);
    say(`| ${model.id} | ${m.blob} | ${r1.toFixed(2)} | ${rb.toFixed(2)} | ${rp.toFixed(2)} |`);
  }
}

if (!a['skip-quality']) {
  const g = await loadModel('bvlc_googlenet');
  const s = await loadModel('squeezenet_v1.1');
  const blob = 'loss3/classifier';
  const rng = new Rng('bench-optimize|quality');
  const units = new Set<number>();
  while (units.size < Number(a['quality-units'])) units.add(rng.int(0, 999));
  const unitList = [...units].sort((x, y) => x - y);
  const presets = a.presets === 'all' ? OPTIMIZE_PRESET_NAMES : a.presets!.split(',');
  const steps = a['quality-steps'] ? Number(a['quality-steps']) : undefined;
  const dataRoot = resolve(a.out!, 'quality');
  await optimize(g, {
    dataRoot,
    layers: [{ name: blob, units: unitList }],
    presets,
    seeds: [0],
    steps,
    batch: Number(a.batch),
    objective: 'center',
    lrMode: 'calibrated',
    resume: true,
    backend: 'wasm',
    workers: Number(a.workers),
  });
  const gNet = createNet(g);
  const sNet = createNet(s);
  say(`\n## optimize quality: ${unitList.length} GoogLeNet ${blob} units, one image each (saved WebP)`);
  say('| preset | steps | SqueezeNet top-5 has the class | GoogLeNet top-1 is the class | GoogLeNet mean p(class) | mean activation |');
  say('|---|---|---|---|---|---|');
  for (const p of presets) {
    const recs: OptImageRecord[] = [];
    for (const u of unitList) {
      const r = await readUnitRecord(dataRoot, g.id, blob, u);
      const o = (r?.optimized as OptImageRecord[] | undefined)?.find((x) => x.preset === p && x.seed === 0);
      if (o) recs.push(o);
    }
    const filesAbs = recs.map((o) => join(dataRoot, o.file));
    const unitsOf = recs.map((o) => Number(o.file.split('/').at(-2)));
    const evS = await evaluateImages(sNet, s, filesAbs, null);
    const evG = await evaluateImages(gNet, g, filesAbs, null, unitsOf);
    const top5 = evS.filter((e, i) => e.top5.includes(unitsOf[i])).length;
    const top1 = evG.filter((e, i) => e.top5[0] === unitsOf[i]).length;
    const mean = recs.reduce((x, o) => x + o.activation, 0) / Math.max(1, recs.length);
    const pc = evG.reduce((x, e) => x + e.prob, 0) / Math.max(1, evG.length);
    say(
      `| ${p} | ${recs[0]?.steps ?? '-'} | ${top5}/${recs.length} (${((100 * top5) / Math.max(1, recs.length)).toFixed(0)} %) | ${top1}/${recs.length} | ${pc.toFixed(3)} | ${mean.toFixed(1)} |`,
    );
  }
  gNet.dispose();
  sNet.dispose();
}
void tf;
