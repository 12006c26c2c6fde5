/**
 * A `deepvis run` decided once: the model, the images, the layers and units, and the settings of
 * each stage, as the options the stages take. Every way of running it — one process
 * (./run.ts), array-job shards (./shard.ts), queue workers (./queue/) — starts from this, so
 * they compute the same work and get the same bytes.
 *
 * Work units: optimize jobs in fixed batches (of every job, finished or not, so that batch i is
 * the same on every machine), and the scan's chunks (also the render shares).
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { UserError } from '../core/errors.ts';
import { resolveDataRoot } from '../content/data-root.ts';
import type { BackendChoice } from '../engine/backend-choices.ts';
import { classLayers } from '../graph/classes.ts';
import { preprocessOption } from '../graph/preprocess.ts';
import type { Model } from '../graph/types.ts';
import { loadModel } from '../import/load.ts';
import { withRandomWeights } from '../import/random-weights.ts';
import { expandInputs } from '../io/inputs.ts';
import { allJobs, batches, type OptJob } from '../stages/optimize/jobs.ts';
import type { OptimizeOptions } from '../stages/optimize/stage.ts';
import type { ScanOptions } from '../stages/scan/stage.ts';
import { scanShares } from '../stages/scan/stage.ts';
import type { RunConfig } from './config.ts';
import { defaultLayers } from './layers.ts';
import { PROFILE_TABLE, selectUnits, type Profile } from './profiles.ts';

/** Optimize jobs per work unit of shards and queues (a shard's stage batches them as its device allows: engine/batch-size.ts). */
export const OPTIMIZE_BATCH = 8;

export interface PreparedRun {
  cfg: RunConfig;
  backend: BackendChoice;
  model: Model;
  files: string[];
  layers: string[];
  selection: { name: string; units: number[] }[];
  totalUnits: number;
  profile: Profile;
  dataRoot: string;
  dist: string;
  /** The optimize stage's options (no runner, no job subset). */
  optimize: OptimizeOptions;
  /** The scan stage's options (no runner). */
  scan: ScanOptions;
  /** Every optimize job, in fixed batches of one layer and preset (the work units of shards and queues). */
  optimizeBatches: OptJob[][];
  /** Scan chunks (= render shares). */
  chunks: number;
  /** The scan's key: model, weights, layers, k and the image list (relative to their root). */
  scanKey: string;
  /** Identifies what decides the gallery's content besides the backend: model, images, layers, presets, seeds, steps. */
  fingerprint: string;
}

export async function prepareRun(cfg: RunConfig, backend: BackendChoice, opts: { quiet?: boolean } = {}): Promise<PreparedRun> {
  const loaded = await loadModel(cfg.model, { preprocess: await preprocessOption(cfg.preprocess) });
  const model = cfg.randomWeights === undefined ? loaded : withRandomWeights(loaded, cfg.randomWeights);
  if (!model.graph.weights) throw new UserError(`${cfg.model}: no weights found (a gallery needs a trained model: add the .caffemodel)`);
  const files = await expandInputs(cfg.images);
  if (files.length === 0) throw new UserError(`no images found in ${cfg.images.join(', ')}`);
  const layers = cfg.layers.length ? checkLayers(model, cfg.layers) : defaultLayers(model);
  const profile: Profile = { ...PROFILE_TABLE[cfg.profile] };
  if (cfg.seeds !== undefined) profile.seeds = cfg.seeds;
  if (cfg.steps !== undefined) profile.steps = cfg.steps;
  const classes = classLayers(model);
  const selection = layers.map((name) => {
    const count = model.graph.blobs.find((b) => b.name === name)!.shape[0];
    return { name, units: selectUnits(profile, model, count, classes.has(name)) };
  });
  const totalUnits = selection.reduce((n, l) => n + l.units.length, 0);
  const dataRoot = resolveDataRoot(cfg.data);
  const seeds = Array.from({ length: profile.seeds }, (_, i) => cfg.seed + i);
  const optimize: OptimizeOptions = {
    dataRoot,
    layers: selection,
    presets: profile.presets,
    seeds,
    steps: profile.steps,
    objective: 'center',
    lrMode: 'calibrated',
    resume: true,
    backend,
    workers: cfg.workers,
    quiet: opts.quiet,
  };
  const scan: ScanOptions = {
    model,
    files,
    layers,
    units: Object.fromEntries(selection.map((l) => [l.name, l.units])),
    k: 9,
    mode: 'deconv',
    out: dataRoot,
    backend,
    workers: cfg.workers,
    chunk: cfg.chunk ?? 256,
    weightsTag: cfg.randomWeights === undefined ? 'file' : `random:${cfg.randomWeights}`,
    quiet: opts.quiet,
  };
  // One worker: no splitting by worker count, so batch i is the same on every machine.
  const optimizeBatches = batches(allJobs(selection, profile.presets, seeds), OPTIMIZE_BATCH, 1);
  const { plan, chunks } = scanShares(scan);
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify({
        model: model.id,
        source: model.source,
        ...(cfg.randomWeights === undefined ? {} : { randomWeights: cfg.randomWeights }),
        preprocess: model.preprocess,
        scan: plan.key,
        selection,
        presets: profile.presets,
        seeds,
        steps: profile.steps ?? null,
        chunk: cfg.chunk ?? 256,
      }),
    )
    .digest('hex')
    .slice(0, 16);
  return {
    cfg,
    backend,
    model,
    files,
    layers,
    selection,
    totalUnits,
    profile,
    dataRoot,
    dist: resolve(cfg.dist),
    optimize,
    scan,
    optimizeBatches,
    chunks,
    scanKey: plan.key,
    fingerprint,
  };
}

function checkLayers(model: Model, names: string[]): string[] {
  for (const n of names) {
    if (!model.graph.blobs.some((b) => b.name === n) || n === model.graph.input.blob) {
      throw new UserError(`model ${model.id} has no layer "${n}" (see deepvis inspect --model …)`);
    }
  }
  return names;
}
