/**
 * `deepvis run … --queue redis://…`: puts the whole run on the queue as two BullMQ flows
 * (./flow.ts), then shows overall progress until the site job completes. It computes nothing
 * itself: `deepvis worker` processes on any number of machines do. Rerun after a crash (of the
 * coordinator, workers or Redis clients) it finds its run and watches it again; a run whose jobs
 * failed is queued again, and every job skips what the data folder already holds.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { FlowProducer, Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { RunFailedError, UserError } from '../../core/errors.ts';
import { Progress, formatDuration } from '../../core/progress.ts';
import { version } from '../../core/version.ts';
import { writeModelRecord } from '../../content/model-record.ts';
import type { BackendChoice } from '../../engine/backend-choices.ts';
import type { RunConfig } from '../config.ts';
import { prepareRun } from '../prepare.ts';
import type { RunSummary } from '../run.ts';
import { checkRedis, parseQueueUrl } from './connection.ts';
import { QUEUE_NAME, gatherFlow, jobTotal } from './flow.ts';
import { clearMeta, readMeta, settingsDiff, writeMeta, type RunMeta } from './meta.ts';

export interface QueuedRunSummary extends Pick<RunSummary, 'model' | 'units' | 'images' | 'data' | 'dist' | 'base' | 'ms'> {
  queue: string;
  jobs: number;
  /** True when the queue already held this run, finished. */
  alreadyDone: boolean;
}

/** The config with every path absolute, as every machine must see it. */
function absoluteConfig(cfg: RunConfig): RunConfig {
  return {
    ...cfg,
    model: existsSync(cfg.model) ? resolve(cfg.model) : cfg.model,
    images: cfg.images.map((i) => resolve(i)),
    data: resolve(cfg.data ?? process.env.DEEPVIS_DATA ?? 'data'),
    dist: resolve(cfg.dist),
    preprocess: cfg.preprocess && existsSync(cfg.preprocess) ? resolve(cfg.preprocess) : cfg.preprocess,
    judgeModel: cfg.judgeModel && existsSync(cfg.judgeModel) ? resolve(cfg.judgeModel) : cfg.judgeModel,
  };
}

export async function runQueued(cfg0: RunConfig, backend: BackendChoice, url: string): Promise<QueuedRunSummary> {
  const t0 = Date.now();
  const say = (s: string) => process.env.DEEPVIS_QUIET || process.stderr.write(`${s}\n`);
  const addr = parseQueueUrl(url);
  await checkRedis(addr);
  const cfg = absoluteConfig(cfg0);
  const run = await prepareRun(cfg, backend, { quiet: true });
  await writeModelRecord(run.dataRoot, run.model);
  const redis = new Redis(addr.options);
  const queue = new Queue(QUEUE_NAME, { connection: addr.options });
  const flows = new FlowProducer({ connection: addr.options });
  const total = jobTotal(run.optimizeBatches.length, run.chunks);
  const mine: RunMeta = {
    version: version(),
    model: run.model.id,
    fingerprint: run.fingerprint,
    backend,
    config: cfg,
    optimizeBatches: run.optimizeBatches.length,
    chunks: run.chunks,
    created: new Date().toISOString(),
  };
  try {
    const meta = await readMeta(redis);
    const state = async (id: string) => (await queue.getJob(id))?.getState();
    let alreadyDone = false;
    if (meta && settingsDiff(meta, mine)) {
      if ((await state('site')) !== 'completed') {
        throw new UserError(
          `${addr.shown} holds an unfinished run (${settingsDiff(meta, mine)}): let it finish, or use another database (redis://host:port/N)`,
        );
      }
      say(`queue: ${addr.shown} held a finished run of ${meta.model}; replacing it`);
      await queue.obliterate({ force: true });
      await clearMeta(redis);
    }
    const same = meta && !settingsDiff(meta, mine);
    if (same && (await state('site')) === 'completed') {
      alreadyDone = true;
      say(`queue: this run is already done (${addr.shown})`);
    } else {
      if (same && ((await state('gather')) === 'failed' || (await state('site')) === 'failed')) {
        say('queue: the last attempt of this run failed; queueing it again (finished work is kept)');
        await queue.obliterate({ force: true });
      }
      if (!same) await writeMeta(redis, mine);
      if (!(await queue.getJob('gather'))) await flows.add(gatherFlow(run.optimizeBatches.length, run.chunks));
      say(
        `run: ${run.model.id} on ${addr.shown}: ${total} jobs (${run.optimizeBatches.length} optimize, ${run.chunks} scan chunks + merge, ${run.chunks} renders, site) for ${run.totalUnits} units, ${run.files.length} images → ${run.dataRoot}`,
      );
      say(`  start workers on any machine that mounts ${run.dataRoot}: deepvis worker --queue ${addr.shown}`);
      await watch(queue, total, state);
    }
    return {
      model: run.model.id,
      queue: addr.shown,
      jobs: total,
      units: run.totalUnits,
      images: run.files.length,
      data: run.dataRoot,
      dist: run.dist,
      base: cfg.base,
      ms: Date.now() - t0,
      alreadyDone,
    };
  } finally {
    await flows.close();
    await queue.close();
    redis.disconnect();
  }
}

/** Polls the queue until the site job completes; a failed run is a RunFailedError after listing every failed job. */
async function watch(queue: Queue, total: number, state: (id: string) => Promise<string | undefined>): Promise<void> {
  const progress = new Progress({ label: 'queue', total, rateUnit: 'jobs/s' });
  let shown = 0;
  for (;;) {
    const c = await queue.getJobCounts('completed', 'active', 'failed', 'delayed');
    if (c.completed > shown) {
      progress.tick(c.completed - shown);
      shown = c.completed;
    }
    progress.status(`${c.active} active${c.failed ? `, ${c.failed} failed` : ''}`);
    if ((await state('site')) === 'completed') break;
    const stuck = (await state('gather')) === 'failed' || (await state('site')) === 'failed';
    // Report once nothing runs or waits to retry, so that every failure is listed.
    if (stuck && c.active === 0 && c.delayed === 0) {
      // Parents fail with "child … failed": list the children that failed for their own reasons.
      const failed = (await queue.getFailed(0, -1)).filter((j) => !/^child \S+ failed/.test(j.failedReason ?? ''));
      for (const j of failed) process.stderr.write(`  failed: ${j.id} after ${j.attemptsMade} attempt(s): ${j.failedReason}\n`);
      throw new RunFailedError(`${failed.length} job(s) failed every attempt (listed above); fix the cause and rerun the same command to retry them`);
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  progress.finish(`queue: ${total} jobs done in ${formatDuration(progress.elapsedMs)}`);
}

export function formatQueuedSummary(s: QueuedRunSummary): string {
  return [
    '',
    `deepvis run --queue: ${s.alreadyDone ? 'already done' : `done in ${formatDuration(s.ms)}`} (${s.jobs} jobs on ${s.queue})`,
    `  gallery: ${s.dist}`,
    `  preview: deepvis site serve --dist ${s.dist}${s.base !== '/' ? ` --base ${s.base}` : ''}`,
  ].join('\n');
}
