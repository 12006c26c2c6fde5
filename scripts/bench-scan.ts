/**
 * `deepvis scan` benchmark: images/s of the scan stage (decode + forward + per-unit max/arg-max +
 * top-k and class-correlation update, with checkpoints) for GoogLeNet and SqueezeNet, every unit of
 * the gallery's layers tracked, on the worker pool; and maps/s of the render stage (patch + deconv
 * of one unit on one image) on a sample of final top-k entries.
 *
 *   DEEPVIS_ASSETS=../shared node bin/run-ts.mjs scripts/bench-scan.ts \
 *     [--images 200] [--workers 2] [--batch 8] [--chunk 256] [--render-units 6] [--backend wasm] [--models googlenet,squeezenet]
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../pipeline/import/load.ts';
import { expandInputs } from '../pipeline/io/inputs.ts';
import { parseBackend } from '../pipeline/engine/backend.ts';
import { makePlan } from '../pipeline/stages/scan/plan.ts';
import { createRunner } from '../pipeline/engine/workers/runner.ts';
import { SCAN_HANDLERS } from '../pipeline/stages/scan/handler-table.ts';
import { runScanStage } from '../pipeline/stages/scan/scan.ts';
import { runRenderStage } from '../pipeline/stages/scan/maps.ts';
import { unitResults } from '../pipeline/stages/scan/records.ts';
import { BENCH_LAYERS } from './bench-scan-layers.ts';

export { BENCH_LAYERS };

const { values: a } = parseArgs({
  options: {
    images: { type: 'string', default: '200' },
    workers: { type: 'string', default: '2' },
    batch: { type: 'string', default: '8' },
    chunk: { type: 'string', default: '256' },
    'render-units': { type: 'string', default: '6' },
    backend: { type: 'string', default: 'wasm' },
    models: { type: 'string', default: 'googlenet,squeezenet' },
  },
});
const assets = process.env.DEEPVIS_ASSETS;
if (!assets) throw new Error('set DEEPVIS_ASSETS to the shared assets folder');
const backend = parseBackend(a.backend);
const all = await expandInputs([join(assets, 'images/imagenet-sample')]);
const files = all.slice(0, Number(a.images));
const workers = Number(a.workers);
const batch = Number(a.batch);

for (const name of a.models!.split(',')) {
  const cfg = BENCH_LAYERS[name];
  const model = await loadModel(cfg.spec);
  const plan = makePlan(model, cfg.layers, files, 9, 'file');
  const units = plan.blobs.reduce((n, b) => n + b.shape[0], 0);
  const runner = await createRunner({ model, backend, workers, handlers: SCAN_HANDLERS });
  const tmp = await mkdtemp(join(tmpdir(), 'deepvis-bench-scan-'));
  try {
    // Warm-up (kernels, first-call costs) on a separate plan/state.
    await runScanStage({
      plan: makePlan(model, cfg.layers, files.slice(0, batch * runner.size), 9, 'file'),
      runner,
      batch,
      chunk: 1000,
      stateDir: join(tmp, 'warm'),
      quiet: true,
    });
    const stats = { mergeMs: 0, checkpointMs: 0, images: 0 };
    const t0 = performance.now();
    const cpu0 = process.cpuUsage(); // the whole process: main thread and worker threads
    const state = await runScanStage({ plan, runner, batch, chunk: Number(a.chunk), stateDir: join(tmp, 'state'), quiet: true, stats });
    const sec = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuPerImg = (cpu.user + cpu.system) / 1e6 / files.length;
    console.log(
      `${model.id}: scan ${files.length} images, ${plan.blobs.length} layers, ${units} units tracked (+ class correlations for ${state.corr?.units ?? 0}): ` +
        `${(files.length / sec).toFixed(1)} img/s on ${runner.backend} × ${runner.size} workers, batch ${batch} ` +
        `(main thread: merge ${(stats.mergeMs / stats.images).toFixed(1)} ms/img, checkpoints ${(stats.checkpointMs / 1000).toFixed(2)} s); ` +
        `CPU ${(cpuPerImg * 1000).toFixed(0)} ms/img, i.e. ${(runner.size / cpuPerImg).toFixed(1)} img/s if ${runner.size} cores were free (load average now ${loadavg()[0].toFixed(1)})`,
    );

    // Render: the final top-9 of the first few units of a middle layer and of the last layer.
    const n = Number(a['render-units']);
    const results = unitResults(model, plan, state);
    const mid = plan.blobs[Math.floor(plan.blobs.length / 2)].name;
    const last = plan.blobs[plan.blobs.length - 1].name;
    const sample = [...results.filter((u) => u.blob === mid).slice(0, n), ...results.filter((u) => u.blob === last).slice(0, n)];
    for (const blob of [mid, last]) {
      const t1 = performance.now();
      const r = await runRenderStage({
        plan,
        runner,
        units: sample.filter((u) => u.blob === blob),
        mode: 'deconv',
        batch,
        out: join(tmp, 'out'),
        stateDir: join(tmp, `render-${blob.replace(/\//g, '-')}`),
        quiet: true,
      });
      const s = (performance.now() - t1) / 1000;
      console.log(
        `${model.id}: render deconv ${blob}: ${r.maps} maps over ${r.images} images, ${(r.maps / s).toFixed(2)} maps/s (${r.mismatches.length} value mismatches)`,
      );
    }
  } finally {
    await runner.close();
    await rm(tmp, { recursive: true, force: true });
  }
}
