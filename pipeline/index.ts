/**
 * deepvis as a library (`import { loadModel, optimize, scan, buildSite } from 'deepvis'`): the same
 * stages the CLI runs, with the CLI's defaults. Content types and schemas, without the compute
 * engine, are in `deepvis/content` (pipeline/content.ts).
 *
 *   const model = await loadModel('squeezenet_v1.1');
 *   await optimize(model, { data: 'data', layers: [{ name: 'conv10', units: [1, 2] }], seeds: [0] });
 *   await scan(model, { data: 'data', images: ['photos/'], layers: ['conv10'] });
 *   await buildSite({ data: 'data', out: 'dist' });
 */
import { resolveDataRoot } from './content/data-root.ts';
import { withDefaults } from './core/defaults.ts';
import { parseBackend, type BackendChoice } from './engine/backend-choices.ts';
import { createRunner } from './engine/workers/runner.ts';
import { layerUnits } from './graph/blobs.ts';
import { classScoreBlob } from './graph/classes.ts';
import type { Model } from './graph/types.ts';
import { expandInputs } from './io/inputs.ts';
import { RUN_DEFAULTS, type RunConfig } from './gallery/config.ts';
import { runGallery, type RunSummary } from './gallery/run.ts';
import { CLASSIFY_HANDLERS } from './stages/classify/handler-table.ts';
import type { Classification } from './stages/classify/output.ts';
import { classBlob, classifyFiles } from './stages/classify/stage.ts';
import { optimize as optimizeStage, type OptimizeOptions, type OptimizeSummary } from './stages/optimize/stage.ts';
import { scan as scanStage, type ScanOptions, type ScanResult } from './stages/scan/stage.ts';

export { loadModel, type LoadOptions } from './import/load.ts';
export { withRandomWeights } from './import/random-weights.ts';
export { buildSite, type SiteBuildOptions, type SiteBuildReport } from './site/build.ts';
export { readGallery, type GalleryData } from './site/data.ts';
export { UserError, isUserError } from './core/errors.ts';
export { BACKEND_CHOICES, type BackendChoice } from './engine/backend-choices.ts';
export type { Model, Graph, Layer, BlobInfo, Preprocess, Label } from './graph/types.ts';
export type { Classification, OptimizeSummary, ScanResult, RunConfig, RunSummary };
export type * from './content.ts';

/** A layer by blob name (every unit) or with chosen units. */
export type LayerChoice = string | { name: string; units?: number[] };

export interface OptimizeRequest extends Omit<OptimizeOptions, 'dataRoot' | 'layers' | 'runner'> {
  /** The data folder (default $DEEPVIS_DATA or data). */
  data?: string;
  /** Default: the class scores (every class unit). */
  layers?: LayerChoice[];
}

/** Activation maximisation: images for each unit, preset and seed, into `data` (finished ones are kept). */
export function optimize(model: Model, req: OptimizeRequest = {}): Promise<OptimizeSummary> {
  const { data, layers, ...rest } = req;
  const chosen = (layers ?? [classScoreBlob(model)]).map((l) => (typeof l === 'string' ? layerUnits(model, l) : layerUnits(model, l.name, l.units)));
  return optimizeStage(model, { ...rest, dataRoot: resolveDataRoot(data), layers: chosen });
}

export interface ScanRequest extends Omit<ScanOptions, 'model' | 'files' | 'out' | 'runner'> {
  /** Image files, folders (searched recursively) or glob patterns. */
  images: string[];
  /** The data folder (default $DEEPVIS_DATA or data). */
  data?: string;
}

/** Max images and deconv: the top-k images of every unit of `layers`, their patches and maps, into `data`. */
export async function scan(model: Model, req: ScanRequest): Promise<ScanResult> {
  const { images, data, ...rest } = req;
  return scanStage({ ...rest, model, files: await expandInputs(images), out: resolveDataRoot(data) });
}

export interface ClassifyRequest {
  /** Classes per image (default 5). */
  top?: number;
  batch?: number;
  backend?: BackendChoice;
  workers?: number;
  quiet?: boolean;
}

/** The top classes of each image (files, folders or globs), in input order. */
export async function classify(model: Model, images: string[], req: ClassifyRequest = {}): Promise<Classification[]> {
  const o = withDefaults(req, { top: 5, batch: 8, backend: 'auto' as BackendChoice, quiet: true });
  classBlob(model);
  const files = await expandInputs(images);
  const runner = await createRunner({ model, backend: o.backend, workers: o.workers, handlers: CLASSIFY_HANDLERS });
  const out: Classification[] = [];
  try {
    await classifyFiles({ files, model, runner, top: o.top, batch: o.batch, quiet: o.quiet, onResult: (c) => out.push(c) });
  } finally {
    await runner.close();
  }
  return out;
}

/** `deepvis run` as a function: optimize → scan → site build, each resuming what is there. */
export function gallery(cfg: Partial<RunConfig> & Pick<RunConfig, 'model' | 'images'>): Promise<RunSummary> {
  const full = withDefaults(cfg, RUN_DEFAULTS);
  return runGallery(full, parseBackend(full.backend));
}
