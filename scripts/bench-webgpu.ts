/**
 * Host↔GPU traffic of the WebGPU backend (pipeline/engine/gpu-counters.ts), per optimisation
 * img-step and per scanned image: dispatches, queue submits, host→GPU uploads (count, bytes; the
 * per-dispatch uniform blocks apart), GPU→host readbacks (count, bytes), and host ms: the wall time
 * less the waits for readbacks, i.e. the main thread's own work of issuing the computation. The
 * counts do not depend on the GPU, so SwiftShader (this box) counts what a real GPU would; its
 * milliseconds are CPU-rasteriser time (its threads share the cores with the host), not GPU speed.
 *
 *   DEEPVIS_ASSETS=../shared DEEPVIS_GPU_ADAPTER=swiftshader node bin/run-ts.mjs scripts/bench-webgpu.ts \
 *     [--model bvlc_googlenet] [--blob inception_4c/output] [--batch 2] [--steps 3] [--presets p3,fourier] [--scan-images 4] [--json]
 *
 * Optimisation: two renders of `--batch` images, of 2 and 2 + --steps steps; the per-img-step
 * figures are the longer one's extra over its extra img-steps (start-up, the first update's
 * constants and the final read of the images cancel out), beside the whole short render. Scan: one
 * warm-up batch, then --scan-images images in batches of --batch through the scan's own handler.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../pipeline/engine/backend.ts';
import { countGpuWork, countsSince, type GpuCounts } from '../pipeline/engine/gpu-counters.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import type { HandlerContext } from '../pipeline/engine/workers/handlers.ts';
import { classScoreBlob } from '../pipeline/graph/classes.ts';
import { defaultLayers } from '../pipeline/gallery/layers.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { render } from '../pipeline/stages/optimize/ascent.ts';
import { OPTIMIZE_PRESETS } from '../pipeline/stages/optimize/presets.ts';
import { jobRng } from '../pipeline/stages/optimize/rng.ts';
import { scanBatch } from '../pipeline/stages/scan/handlers.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'bvlc_googlenet' },
    blob: { type: 'string', default: 'inception_4c/output' },
    batch: { type: 'string', default: '2' },
    steps: { type: 'string', default: '3' },
    presets: { type: 'string', default: 'p3,fourier' },
    'scan-images': { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
  },
});
const assets = process.env.DEEPVIS_ASSETS;
if (!assets) {
  console.error('bench-webgpu: set DEEPVIS_ASSETS to the shared assets folder');
  process.exit(2);
}
const batch = Number(a.batch);
const steps = Number(a.steps);
const scanImages = Number(a['scan-images']);
if (!(batch >= 1 && steps >= 1 && scanImages >= 1)) {
  console.error('bench-webgpu: --batch, --steps and --scan-images must be ≥ 1');
  process.exit(2);
}

await initBackend('webgpu');
const model = await loadModel(join(assets, 'models', a.model!));
const net = createNet(model);
const ctx: HandlerContext = { net, model, tf };

const per = (c: GpuCounts, n: number): GpuCounts => Object.fromEntries(Object.entries(c).map(([k, v]) => [k, v / n])) as unknown as GpuCounts;

async function counted(fn: () => Promise<unknown>): Promise<{ counts: GpuCounts; ms: number }> {
  const counter = countGpuWork();
  const t = performance.now();
  try {
    await fn();
    return { counts: counter.read(), ms: performance.now() - t };
  } finally {
    counter.stop();
  }
}

interface Row {
  what: string;
  per: string;
  counts: GpuCounts;
  ms: number;
}
const rows: Row[] = [];

for (const name of a.presets!.split(',')) {
  const preset = OPTIMIZE_PRESETS[name];
  if (!preset) throw new Error(`unknown preset ${name}`);
  const run = (s: number) =>
    counted(() =>
      render(net, {
        blob: a.blob!,
        objective: 'center',
        preset,
        steps: s,
        gradScale: 1,
        images: Array.from({ length: batch }, (_, i) => ({ unit: i * 7, rng: jobRng(model.id, a.blob!, i * 7, name, 0) })),
      }),
    );
  await run(2); // shaders compiled, weights uploaded
  const short = await run(2);
  const long = await run(2 + steps);
  rows.push({ what: `optimize ${name} (${a.blob}), batch ${batch}, a whole 2-step render`, per: 'render', counts: short.counts, ms: short.ms });
  rows.push({
    what: `optimize ${name}, per img-step once running`,
    per: 'img-step',
    counts: per(countsSince(long.counts, short.counts), steps * batch),
    ms: (long.ms - short.ms) / (steps * batch),
  });
}

const photoDir = join(assets, 'images', 'ilsvrc2012-val');
const photos = readdirSync(photoDir)
  .filter((f) => /\.(jpe?g|png)$/i.test(f))
  .sort()
  .map((f) => join(photoDir, f));
if (photos.length < batch + scanImages) throw new Error(`bench-webgpu: ${photoDir} has ${photos.length} photos, fewer than --batch + --scan-images`);
const blobs = defaultLayers(model);
const args = (files: string[]) => ({ files, blobs, probBlob: classScoreBlob(model), corrBlobs: blobs.slice(0, -1) });
await scanBatch(ctx, args(photos.slice(0, batch)));
const scanned = await counted(async () => {
  for (let i = 0; i < scanImages; i += batch) await scanBatch(ctx, args(photos.slice(batch + i, batch + Math.min(i + batch, scanImages))));
});
rows.push({
  what: `scan (${blobs.length} blobs, class correlations), batch ${batch}`,
  per: 'image',
  counts: per(scanned.counts, scanImages),
  ms: scanned.ms / scanImages,
});
net.dispose();

if (a.json) console.log(JSON.stringify({ model: model.id, rows }, null, 2));
else {
  const f = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(1));
  const kb = (v: number) => (v / 1024).toFixed(1);
  console.log(`WebGPU traffic — ${model.id}; adapter ${process.env.DEEPVIS_GPU_ADAPTER ?? 'gpu'}`);
  console.log('| measured | per | dispatches | submits | uploads | upload KiB | uniform KiB | readbacks | readback KiB | host ms | wall ms |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const r of rows) {
    const c = r.counts;
    console.log(
      `| ${r.what} | ${r.per} | ${f(c.dispatches)} | ${f(c.submits)} | ${f(c.uploads)} | ${kb(c.uploadBytes)} | ${kb(c.uniformBytes)} | ${f(c.readbacks)} | ${kb(c.readbackBytes)} | ${(r.ms - c.waitMs).toFixed(0)} | ${r.ms.toFixed(0)} |`,
    );
  }
}
