/**
 * `deepvis optimize` end to end: plan the (layer, unit, preset, seed) jobs, skip finished ones,
 * calibrate step sizes per layer, run batches on the runner, write each image's part of its unit
 * record (content/unit-store.ts).
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { HOST_TAG, tempOwner, writeJsonAtomic } from '../../io/atomic.ts';
import { writeModelRecord } from '../../content/model-record.ts';
import { writeOptPart } from '../../content/unit-store.ts';
import { layerSlug } from '../../content/types.ts';
import type { BackendChoice } from '../../engine/backend.ts';
import type { Model } from '../../graph/types.ts';
import { Progress, formatDuration } from '../../core/progress.ts';
import { withDefaults } from '../../core/defaults.ts';
import { OPTIMIZE_DEFAULTS } from './defaults.ts';
import type { Calibration } from './calibrate.ts';
import type { OptimizeBatchArgs } from './handlers.ts';
import { batches, planJobs, type JobSettings, type LrMode, type OptJob } from './jobs.ts';
import type { ObjectiveKind } from './objectives.ts';
import { OPTIMIZE_PRESETS } from './presets.ts';
import { batchFor } from '../../engine/batch-size.ts';
import { createRunner } from '../../engine/workers/runner.ts';
import { OPTIMIZE_HANDLERS, type OptimizeRunner as Runner } from './handler-table.ts';

export { OPTIMIZE_DEFAULTS };

export interface OptimizeOptions {
  dataRoot: string;
  layers: { name: string; units: number[] }[];
  /** Preset names (default ['p3'], the paper's most used). */
  presets?: readonly string[];
  /** Seeds, one image each per unit and preset (default [0, 1, 2, 3]). */
  seeds?: readonly number[];
  /** Overrides every preset's step count. */
  steps?: number;
  /** Images per batch (default: 8 on the CPU engines; on webgpu as many as the device holds, engine/batch-size.ts). Images do not depend on it. */
  batch?: number;
  /** Default 'center': the unit at the centre of the map. */
  objective?: ObjectiveKind;
  /** Default 'calibrated': step sizes scaled per layer. */
  lrMode?: LrMode;
  /** Keep the images a previous run finished (default true). */
  resume?: boolean;
  /** Default 'auto'. */
  backend?: BackendChoice;
  workers?: number;
  quiet?: boolean;
  /** Use this runner instead of creating one (tests, and a worker that runs many jobs). */
  runner?: Runner;
  /** Only these jobs of the (layers × presets × seeds) plan (a shard's or a queue job's share). */
  only?: readonly OptJob[];
}

type FullOptimizeOptions = ReturnType<typeof withDefaults<OptimizeOptions, typeof OPTIMIZE_DEFAULTS>>;

export interface OptimizeSummary {
  total: number;
  skipped: number;
  done: number;
  imgSteps: number;
  wallMs: number;
  backend?: string;
  /** Images per batch it ran (engine/batch-size.ts when not given). */
  batch?: number;
}

/** Removes temp files a killed run left in the image folders of `jobs` (only those of dead processes of this host). */
async function removeStaleTemps(dataRoot: string, modelId: string, jobs: OptJob[]): Promise<void> {
  const dirs = new Set(jobs.map((j) => join(dataRoot, modelId, 'img', layerSlug(j.layer), String(j.unit))));
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const n of names) {
      const owner = tempOwner(n);
      if (owner && owner.host === HOST_TAG && !alive(owner.pid)) await rm(join(dir, n), { force: true });
    }
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** One file per (layer, objective, backend): processes on many machines never update one file. */
function calibrationPath(dataRoot: string, modelId: string, key: string): string {
  const name = createHash('sha256').update(key).digest('hex').slice(0, 16);
  return join(dataRoot, modelId, 'state', 'optimize-calibration', `${name}.json`);
}

/**
 * Step-size scale per layer, cached under <model>/state (keyed by layer, objective and backend).
 * The measurement is deterministic, so two processes that both compute it write the same bytes.
 */
async function layerScales(
  dataRoot: string,
  model: Model,
  layers: string[],
  opts: FullOptimizeOptions,
  runner: Runner,
  backend: string,
): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const l of layers) {
    if (opts.lrMode === 'literal') {
      out.set(l, 1);
      continue;
    }
    const key = `${l}|${opts.objective}|${backend}`;
    const path = calibrationPath(dataRoot, model.id, key);
    const cached = JSON.parse(await readFile(path, 'utf8').catch(() => 'null')) as (Calibration & { key: string }) | null;
    let cal: Calibration | null = cached?.key === key ? cached : null;
    if (!cal) {
      cal = await runner.run('calibrate', { blob: l, objective: opts.objective });
      await writeJsonAtomic(path, { key, ...cal });
    }
    out.set(l, cal.scale);
  }
  return out;
}

function planOf(model: Model, opts: FullOptimizeOptions) {
  const settings = (preset: string): JobSettings => ({ steps: opts.steps ?? OPTIMIZE_PRESETS[preset].steps, objective: opts.objective, lrMode: opts.lrMode });
  return planJobs(opts.dataRoot, model.id, opts.layers, opts.presets, opts.seeds, settings, opts.resume, opts.only);
}

/** The jobs of these options not finished yet (what `optimize` would compute), without computing anything. */
export async function pendingJobs(model: Model, options: OptimizeOptions): Promise<OptJob[]> {
  return (await planOf(model, withDefaults({ ...options, resume: true }, OPTIMIZE_DEFAULTS))).todo;
}

export async function optimize(model: Model, options: OptimizeOptions): Promise<OptimizeSummary> {
  const t0 = Date.now();
  const opts = withDefaults(options, OPTIMIZE_DEFAULTS);
  await writeModelRecord(opts.dataRoot, model);
  const plan = await planOf(model, opts);
  const summary: OptimizeSummary = { total: plan.all.length, skipped: plan.all.length - plan.todo.length, done: 0, imgSteps: 0, wallMs: 0 };
  if (!plan.todo.length) {
    summary.wallMs = Date.now() - t0;
    return summary;
  }
  await removeStaleTemps(opts.dataRoot, model.id, plan.todo);

  const runner = opts.runner ?? (await createRunner({ model, backend: opts.backend, workers: opts.workers, handlers: OPTIMIZE_HANDLERS }));
  try {
    const backend = await runner.run('backendName', undefined);
    summary.backend = backend;
    const pixelLayers = [...new Set(plan.todo.filter((j) => OPTIMIZE_PRESETS[j.preset].family === 'pixel').map((j) => j.layer))];
    const scales = await layerScales(opts.dataRoot, model, pixelLayers, opts, runner, backend);

    const unitKey = (j: OptJob) => `${j.layer}\u0000${j.unit}`;
    const left = new Map<string, number>();
    for (const j of plan.todo) left.set(unitKey(j), (left.get(unitKey(j)) ?? 0) + 1);
    const progress = new Progress({ label: 'optimize', total: left.size, rateUnit: 'img-steps/s', quiet: opts.quiet });
    const batch = opts.batch ?? batchFor(model, [...new Set(plan.todo.map((j) => j.layer))], runner.device);
    summary.batch = batch;
    progress.status(`${plan.todo.length} images on ${runner.size} × ${backend}, batch ${batch}`);

    await Promise.all(
      batches(plan.todo, batch, runner.size).map(async (jobs) => {
        const j0 = jobs[0];
        const args: OptimizeBatchArgs = {
          dataRoot: opts.dataRoot,
          blob: j0.layer,
          preset: j0.preset,
          objective: opts.objective,
          steps: opts.steps,
          lrMode: opts.lrMode,
          gradScale: scales.get(j0.layer) ?? 1,
          backend,
          jobs,
        };
        const res = await runner.run('optimizeBatch', args);
        for (const { job, image } of res.images) {
          await writeOptPart(opts.dataRoot, model.id, job.layer, job.unit, image);
          summary.done++;
          summary.imgSteps += image.steps;
          const k = unitKey(job);
          const n = left.get(k)! - 1;
          left.set(k, n);
          progress.tick(n === 0 ? 1 : 0, image.steps);
        }
      }),
    );
    summary.wallMs = Date.now() - t0;
    progress.finish(
      `optimize: ${summary.done} images (${summary.skipped} already done) in ${formatDuration(summary.wallMs)}, ` +
        `${((summary.imgSteps * 1000) / summary.wallMs).toFixed(2)} img-steps/s on ${runner.size} × ${backend}`,
    );
    return summary;
  } finally {
    if (!opts.runner) await runner.close();
  }
}
