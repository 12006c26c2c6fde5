import { createHash } from 'node:crypto';
import { withDefaults } from '../../core/defaults.ts';
import { SCAN_DEFAULTS } from './defaults.ts';
import { join } from 'node:path';
import type { Model } from '../../graph/types.ts';
import type { BackendChoice } from '../../engine/backend.ts';
import type { GradMode } from '../../engine/net/types.ts';
import { writeJsonAtomic } from '../../io/atomic.ts';
import { writeModelRecord } from '../../content/model-record.ts';
import { makePlan } from './plan.ts';
import { createRunner } from '../../engine/workers/runner.ts';
import { batchFor } from '../../engine/batch-size.ts';
import { SCAN_HANDLERS, type ScanRunner as Runner } from './handler-table.ts';
import { runScanStage, statePath } from './scan.ts';
import { chunkCount, chunkDone, mergeScanChunks, runScanChunk, scanMerged } from './chunks.ts';
import { loadState, type ScanState, type SkippedImage } from './checkpoint.ts';
import type { ScanPlan } from './plan.ts';
import { UserError } from '../../core/errors.ts';
import { runRenderStage, type RenderSummary } from './maps.ts';
import { runCircuitStage } from './circuits.ts';
import { layerStats, unitResults, writeUnitScan, type UnitScanResult } from './records.ts';
import { writeLayerStats } from '../../content/layer-stats.ts';
import { skippedReport, topkSummary } from './report.ts';

/**
 * `deepvis scan` as a function (the CLI and `deepvis run` call it): scan stage, top-k summary,
 * render stage, model and unit records. Resumes whatever an earlier run with the same inputs left.
 */
export { SCAN_DEFAULTS };

export interface ScanOptions {
  model: Model;
  /** Image files (already expanded), in scan order. */
  files: string[];
  layers: string[];
  /** Top images kept per unit (default 9). */
  k?: number;
  /** How the patches' maps are rendered (default 'deconv'). */
  mode?: GradMode;
  /** Data root. */
  out: string;
  /** Default 'auto'. */
  backend?: BackendChoice;
  /** Worker threads (0 = this thread; default one per core). Ignored when `runner` is given. */
  workers?: number;
  /** An existing runner with this model's net (not closed here). */
  runner?: Runner;
  /** Images per batch (default: 8 on the CPU engines; on webgpu as many as the device holds, engine/batch-size.ts). */
  batch?: number;
  /** Images per checkpoint (default 256). */
  chunk?: number;
  /** Identifies the weights in the checkpoint key ('file', 'random:<seed>'; default 'file'). */
  weightsTag?: string;
  /** Only these units get patches, deconv and records, per blob (a blob not named: all its units). */
  units?: Record<string, number[]>;
  /** Render patches/deconv and write records (default true). */
  render?: boolean;
  quiet?: boolean;
}

export interface ScanResult {
  images: number;
  scanned: number;
  skipped: SkippedImage[];
  units: number;
  render?: RenderSummary;
  /** The summary JSON written under state/. */
  summary: string;
}

type FullScanOptions = ReturnType<typeof withDefaults<ScanOptions, typeof SCAN_DEFAULTS>>;

function scanPlanOf(o: FullScanOptions) {
  return makePlan(o.model, o.layers, o.files, o.k, o.weightsTag);
}

function stateDirOf(o: FullScanOptions): string {
  return join(o.out, o.model.id, 'state');
}

/** Runs `fn` on the stage's runner with the batch size: the one asked for, else the device's choice (engine/batch-size.ts). */
async function withRunner<T>(o: FullScanOptions, plan: ScanPlan, fn: (runner: Runner, batch: number) => Promise<T>): Promise<T> {
  const runner = o.runner ?? (await createRunner({ model: o.model, backend: o.backend, workers: o.workers, handlers: SCAN_HANDLERS }));
  try {
    const batch =
      o.batch ??
      batchFor(
        o.model,
        plan.blobs.map((b) => b.name),
        runner.device,
      );
    return await fn(runner, batch);
  } finally {
    if (!o.runner) await runner.close();
  }
}

/** The units that get records and renders (all of each tracked blob unless `units` names some), the selection's name, and every unit. */
function selectedUnits(o: FullScanOptions, plan: ScanPlan, state: ScanState): { units: UnitScanResult[]; selection?: string; all: UnitScanResult[] } {
  const all = unitResults(o.model, plan, state);
  const pick = o.units;
  if (!pick) return { units: all, all };
  const units = all.filter((u) => !pick[u.blob] || pick[u.blob].includes(u.unit));
  const selection = createHash('sha256')
    .update(JSON.stringify(Object.entries(pick).sort()))
    .digest('hex')
    .slice(0, 12);
  return { units, selection, all };
}

/** Summary file, model record, every selected unit's scan part and each layer's statistics, from a complete scan state. */
async function writeScanRecords(
  o: FullScanOptions,
  plan: ScanPlan,
  state: ScanState,
  sel: { units: UnitScanResult[]; all: UnitScanResult[] },
  run: Record<string, unknown>,
): Promise<string> {
  const summary = join(stateDirOf(o), `scan-${plan.key}.summary.json`);
  await writeJsonAtomic(summary, topkSummary(plan, state, sel.units, run));
  if (o.render !== false) {
    await writeModelRecord(o.out, o.model);
    for (const u of sel.units) await writeUnitScan(o.out, o.model, u);
    for (const b of plan.blobs) await writeLayerStats(o.out, o.model.id, layerStats(b.name, sel.all));
  }
  return summary;
}

function warnMismatches(render: RenderSummary): void {
  if (render.mismatches.length > 0) {
    const m = render.mismatches[0];
    console.error(
      `warning: ${render.mismatches.length} rendered activations differ from the scan's (e.g. ${m.blob} unit ${m.unit} on ${m.file}: ${m.recorded} vs ${m.reproduced})`,
    );
  }
}

export async function scan(options: ScanOptions): Promise<ScanResult> {
  const o = withDefaults(options, SCAN_DEFAULTS);
  const plan = scanPlanOf(o);
  const stateDir = stateDirOf(o);
  return withRunner(o, plan, async (runner, batch) => {
    const t0 = Date.now();
    const state = await runScanStage({ plan, runner, batch, chunk: o.chunk, stateDir, quiet: o.quiet });
    const scanSeconds = (Date.now() - t0) / 1000;
    const sel = selectedUnits(o, plan, state);
    const { units, selection } = sel;
    let render: RenderSummary | undefined;
    if (o.render !== false) {
      render = await runRenderStage({ plan, runner, units, mode: o.mode, batch, out: o.out, stateDir, selection, quiet: o.quiet });
      warnMismatches(render);
      await runCircuitStage({ plan, model: o.model, runner, units, out: o.out, batch, quiet: o.quiet });
    }
    const summary = await writeScanRecords(o, plan, state, sel, { backend: runner.backend, workers: runner.size, scanSeconds });
    const report = skippedReport(state.skipped);
    if (report) console.error(report);
    if (!o.quiet)
      console.error(
        `scan: ${plan.files.length - state.skipped.length} of ${plan.files.length} images, ${units.length} units of ${o.layers.join(', ')} → ${join(o.out, o.model.id)}`,
      );
    return { images: plan.files.length, scanned: plan.files.length - state.skipped.length, skipped: state.skipped, units: units.length, render, summary };
  });
}

/**
 * The scan split into work that runs anywhere (./chunks.ts): how many chunks (= render shares)
 * there are, whether each is done, and the three kinds of work — scan a chunk, merge the chunks
 * (records + summary), render one share of the images.
 */
export function scanShares(options: ScanOptions): { plan: ScanPlan; chunks: number } {
  const o = withDefaults(options, SCAN_DEFAULTS);
  const plan = scanPlanOf(o);
  return { plan, chunks: chunkCount(plan, o.chunk) };
}

/** The chunks not scanned yet (none once the scan is merged): read the merged checkpoint once, then each chunk's part. */
export async function pendingChunks(options: ScanOptions): Promise<number[]> {
  const o = withDefaults(options, SCAN_DEFAULTS);
  const plan = scanPlanOf(o);
  if (await scanMerged(plan, stateDirOf(o))) return [];
  return Array.from({ length: chunkCount(plan, o.chunk) }, (_, c) => c).filter((c) => !chunkDone(plan, stateDirOf(o), c));
}

export async function scanChunkDone(options: ScanOptions, index: number): Promise<boolean> {
  const o = withDefaults(options, SCAN_DEFAULTS);
  const plan = scanPlanOf(o);
  return chunkDone(plan, stateDirOf(o), index) || (await scanMerged(plan, stateDirOf(o)));
}

export async function scanChunk(options: ScanOptions, index: number): Promise<number> {
  const o = withDefaults(options, SCAN_DEFAULTS);
  const plan = scanPlanOf(o);
  if (await scanChunkDone(options, index)) return 0;
  return withRunner(o, plan, (runner, batch) => runScanChunk({ plan, runner, batch, chunk: o.chunk, stateDir: stateDirOf(o), index }));
}

/** Merges the chunks (a UserError names any missing) and writes the summary and unit scan parts. */
export async function mergeScan(options: ScanOptions): Promise<{ units: number; skipped: SkippedImage[] }> {
  const o = withDefaults(options, SCAN_DEFAULTS);
  const plan = scanPlanOf(o);
  const state = await mergeScanChunks(plan, stateDirOf(o), o.chunk);
  const sel = selectedUnits(o, plan, state);
  await writeScanRecords(o, plan, state, sel, { merged: chunkCount(plan, o.chunk) });
  return { units: sel.units.length, skipped: state.skipped };
}

/**
 * Renders the patches and maps of the images in share `index` (images [index·chunk, (index+1)·chunk))
 * and the circuits of the share's slice of the units (the same number of slices as shares).
 */
export async function renderShare(options: ScanOptions, index: number): Promise<RenderSummary> {
  const o = withDefaults(options, SCAN_DEFAULTS);
  const plan = scanPlanOf(o);
  const stateDir = stateDirOf(o);
  const state = await loadState(statePath(stateDir, plan.key), plan.key);
  if (!state?.complete) throw new UserError(`render: the scan of ${o.model.id} is not merged yet`);
  const { units } = selectedUnits(o, plan, state);
  const range = { from: index * o.chunk, to: (index + 1) * o.chunk };
  return withRunner(o, plan, async (runner, batch) => {
    const r = await runRenderStage({ plan, runner, units, mode: o.mode, batch, out: o.out, stateDir, range, quiet: true });
    warnMismatches(r);
    const shares = chunkCount(plan, o.chunk);
    const slice = { from: Math.floor((index * units.length) / shares), to: Math.floor(((index + 1) * units.length) / shares) };
    await runCircuitStage({ plan, model: o.model, runner, units, out: o.out, batch, range: slice, quiet: true });
    return r;
  });
}
