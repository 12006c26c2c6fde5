/**
 * The work list: one job per (layer, unit, preset, seed). A job is finished when its part of the
 * unit's record (content/unit-store.ts) holds an image made with the same settings (steps, objective, step-size
 * mode) and its WebP exists; `--resume` (default) skips finished jobs, so a killed run redoes only
 * what is missing. Batches group jobs of one layer and preset (one render loop each).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readOptPart } from '../../content/unit-store.ts';
import { layerSlug, type OptImage } from '../../content/types.ts';
import type { ObjectiveKind } from './objectives.ts';
import type { ImageFeatures } from '../../content/features.ts';

export type LrMode = 'calibrated' | 'literal';

/**
 * An optimised image's record: the contract's OptImage plus fields the site ignores (its schema
 * strips unknown keys).
 */
export interface OptImageRecord extends OptImage {
  /** Step sizes: `calibrated` (scaled to the layer's gradient magnitude, default) or `literal` (the paper's numbers). */
  lr_mode: LrMode;
  /** Multiplier applied to the layer's gradients (1 for literal). */
  lr_scale: number;
  /** Compute backend that made the image (same seed + backend → byte-identical image). */
  backend: string;
  /** The model's penultimate features of the image (content/features.ts), for the seeds' agreement. */
  features?: ImageFeatures;
}

export interface OptJob {
  layer: string;
  unit: number;
  preset: string;
  seed: number;
}

/** What makes two images of the same (unit, preset, seed) the same image. */
export interface JobSettings {
  steps: number;
  objective: ObjectiveKind;
  lrMode: LrMode;
}

/** Data-root-relative WebP path of a job's image. */
export function optImagePath(modelId: string, job: OptJob): string {
  return `${modelId}/img/${layerSlug(job.layer)}/${job.unit}/opt-${job.preset}-${job.seed}.webp`;
}

/** The job's stored image when it was made with these settings. */
export function sameSettings(o: OptImageRecord | undefined, s: JobSettings): o is OptImageRecord {
  return !!o && o.steps === s.steps && o.objective === s.objective && (o.lr_mode ?? 'calibrated') === s.lrMode;
}

/** True when the job's image and its part exist, made with these settings. */
export async function isDone(dataRoot: string, modelId: string, job: OptJob, s: JobSettings): Promise<boolean> {
  const o = await readOptPart<OptImageRecord>(dataRoot, modelId, job.layer, job.unit, job.preset, job.seed);
  return sameSettings(o, s) && existsSync(join(dataRoot, o.file));
}

export interface Plan {
  /** Every job asked for. */
  all: OptJob[];
  /** Jobs still to do. */
  todo: OptJob[];
}

export async function planJobs(
  dataRoot: string,
  modelId: string,
  layers: { name: string; units: number[] }[],
  presets: readonly string[],
  seeds: readonly number[],
  settings: (preset: string) => JobSettings,
  resume: boolean,
  only?: readonly OptJob[],
): Promise<Plan> {
  const all = only ? [...only] : allJobs(layers, presets, seeds);
  const todo: OptJob[] = [];
  for (const job of all) if (!resume || !(await isDone(dataRoot, modelId, job, settings(job.preset)))) todo.push(job);
  return { all, todo };
}

/** Every (layer, unit, preset, seed) job, in plan order. */
export function allJobs(layers: { name: string; units: number[] }[], presets: readonly string[], seeds: readonly number[]): OptJob[] {
  const all: OptJob[] = [];
  for (const { name, units } of layers)
    for (const unit of units) for (const preset of presets) for (const seed of seeds) all.push({ layer: name, unit, preset, seed });
  return all;
}

/**
 * Jobs grouped by (layer, preset) into batches of at most `size`; with `workers`, batches shrink
 * when there are fewer full ones than workers, so every worker gets one (5 jobs on 2 workers: 3 + 2,
 * not one batch of 5 with a core idle). Images do not depend on how jobs are batched.
 */
export function batches(jobs: OptJob[], size: number, workers = 1): OptJob[][] {
  const groups = new Map<string, number>();
  for (const j of jobs) groups.set(`${j.layer}\u0000${j.preset}`, (groups.get(`${j.layer}\u0000${j.preset}`) ?? 0) + 1);
  const full = [...groups.values()].reduce((a, n) => a + Math.ceil(n / size), 0);
  if (full < workers && jobs.length > full) size = Math.max(1, Math.ceil(jobs.length / workers));
  return batchesOf(jobs, size);
}

function batchesOf(jobs: OptJob[], size: number): OptJob[][] {
  const out: OptJob[][] = [];
  const open = new Map<string, OptJob[]>();
  for (const j of jobs) {
    const key = `${j.layer}\u0000${j.preset}`;
    let b = open.get(key);
    if (!b || b.length >= size) {
      b = [];
      open.set(key, b);
      out.push(b);
    }
    b.push(j);
  }
  return out;
}
