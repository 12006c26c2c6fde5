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
import { SCAN_HANDLERS, type ScanRunner as Runner } from './handler-table.ts';
import { runScanStage } from './scan.ts';
import { runRenderStage, type RenderSummary } from './maps.ts';
import { unitResults, writeUnitScan } from './records.ts';
import { skippedReport, topkSummary } from './report.ts';
import type { SkippedImage } from './checkpoint.ts';

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
  /** Images per batch (default 8). */
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

export async function scan(options: ScanOptions): Promise<ScanResult> {
  const o = withDefaults(options, SCAN_DEFAULTS);
  const { model } = o;
  const plan = makePlan(model, o.layers, o.files, o.k, o.weightsTag);
  const stateDir = join(o.out, model.id, 'state');
  const runner = o.runner ?? (await createRunner({ model, backend: o.backend, workers: o.workers, handlers: SCAN_HANDLERS }));
  try {
    const t0 = Date.now();
    const state = await runScanStage({ plan, runner, batch: o.batch, chunk: o.chunk, stateDir, quiet: o.quiet });
    const scanSeconds = (Date.now() - t0) / 1000;
    const all = unitResults(model, plan, state);
    const pick = o.units;
    const units = pick ? all.filter((u) => !pick[u.blob] || pick[u.blob].includes(u.unit)) : all;
    const selection = pick
      ? createHash('sha256')
          .update(JSON.stringify(Object.entries(pick).sort()))
          .digest('hex')
          .slice(0, 12)
      : undefined;
    const summary = join(stateDir, `scan-${plan.key}.summary.json`);
    await writeJsonAtomic(summary, topkSummary(plan, state, units, { backend: runner.backend, workers: runner.size, scanSeconds }));
    let render: RenderSummary | undefined;
    if (o.render !== false) {
      render = await runRenderStage({ plan, runner, units, mode: o.mode, batch: o.batch, out: o.out, stateDir, selection, quiet: o.quiet });
      await writeModelRecord(o.out, model);
      for (const u of units) await writeUnitScan(o.out, model, u);
      if (render.mismatches.length > 0) {
        const m = render.mismatches[0];
        console.error(
          `warning: ${render.mismatches.length} rendered activations differ from the scan's (e.g. ${m.blob} unit ${m.unit} on ${m.file}: ${m.recorded} vs ${m.reproduced})`,
        );
      }
    }
    const report = skippedReport(state.skipped);
    if (report) console.error(report);
    if (!o.quiet)
      console.error(
        `scan: ${plan.files.length - state.skipped.length} of ${plan.files.length} images, ${units.length} units of ${o.layers.join(', ')} → ${join(o.out, model.id)}`,
      );
    return { images: plan.files.length, scanned: plan.files.length - state.skipped.length, skipped: state.skipped, units: units.length, render, summary };
  } finally {
    if (!o.runner) await runner.close();
  }
}
