/**
 * What each queue job does, on a worker that has prepared the run. One net pool at a time: the
 * optimize and scan stages use different handler tables, so switching kind closes the other pool
 * (the flow's priorities keep a worker on one kind for long stretches).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { FlowProducer } from 'bullmq';
import { writeFileAtomic } from '../../io/atomic.ts';
import { writeModelRecord } from '../../content/model-record.ts';
import type { BackendChoice } from '../../engine/backend-choices.ts';
import { createRunner } from '../../engine/workers/runner.ts';
import { OPTIMIZE_HANDLERS, type OptimizeRunner } from '../../stages/optimize/handler-table.ts';
import { optimize } from '../../stages/optimize/stage.ts';
import { SCAN_HANDLERS, type ScanRunner } from '../../stages/scan/handler-table.ts';
import { mergeScan, renderShare, scanChunk } from '../../stages/scan/stage.ts';
import type { PreparedRun } from '../prepare.ts';
import { buildGallerySite } from '../run.ts';
import { judgeImages } from '../judge.ts';
import { siteFlow, type JobData } from './flow.ts';

type Pool = { kind: 'optimize'; runner: OptimizeRunner } | { kind: 'scan'; runner: ScanRunner };

export class JobProcessor {
  private pool: Pool | undefined;

  constructor(
    private readonly run: PreparedRun,
    private readonly backend: BackendChoice,
    private readonly flows: FlowProducer,
  ) {}

  /** Runs one job; returns a short description of what it did (the job's return value). */
  async process(data: JobData): Promise<string> {
    const run = this.run;
    switch (data.kind) {
      case 'optimize': {
        const runner = await this.optimizeRunner();
        const s = await optimize(run.model, { ...run.optimize, backend: this.backend, only: run.optimizeBatches[data.index!], runner, quiet: true });
        return `${s.done} images (${s.skipped} already done)`;
      }
      case 'scan': {
        const runner = await this.scanRunner();
        const n = await scanChunk({ ...run.scan, backend: this.backend, runner, quiet: true }, data.index!);
        return n ? `${n} images scanned` : 'already done';
      }
      case 'merge': {
        const r = await mergeScan({ ...run.scan, quiet: true });
        return `${r.units} unit records${r.skipped.length ? `, ${r.skipped.length} images skipped` : ''}`;
      }
      case 'gather': {
        await this.flows.add(siteFlow(run.chunks));
        return `${run.chunks} render shares queued`;
      }
      case 'render': {
        const done = join(run.dataRoot, run.model.id, 'state', `scan-${run.scanKey}.renders`, `${data.index}.done`);
        if (existsSync(done)) return 'already done';
        const runner = await this.scanRunner();
        const r = await renderShare({ ...run.scan, backend: this.backend, runner, quiet: true }, data.index!);
        await writeFileAtomic(done, `${r.maps}\n`);
        return `${r.maps} maps of ${r.images} images`;
      }
      case 'site': {
        await this.close();
        await writeModelRecord(run.dataRoot, run.model);
        if (run.cfg.judgeModel) await judgeImages(run, run.cfg.judgeModel, this.backend);
        return await buildGallerySite(run, () => undefined);
      }
    }
  }

  private async optimizeRunner(): Promise<OptimizeRunner> {
    if (this.pool?.kind === 'optimize') return this.pool.runner;
    await this.close();
    const runner = await createRunner({ model: this.run.model, backend: this.backend, workers: this.run.cfg.workers, handlers: OPTIMIZE_HANDLERS });
    this.pool = { kind: 'optimize', runner };
    return runner;
  }

  private async scanRunner(): Promise<ScanRunner> {
    if (this.pool?.kind === 'scan') return this.pool.runner;
    await this.close();
    const runner = await createRunner({ model: this.run.model, backend: this.backend, workers: this.run.cfg.workers, handlers: SCAN_HANDLERS });
    this.pool = { kind: 'scan', runner };
    return runner;
  }

  async close(): Promise<void> {
    const p = this.pool;
    this.pool = undefined;
    if (p) await p.runner.close();
  }
}
