/**
 * `deepvis worker --queue redis://…`: takes the queue's jobs one at a time until none is left
 * (or forever with `--forever`), computing into the shared data folder the run names. One line per
 * job on stdout (start, done or failed). A worker killed mid-job (kill -9, machine lost) stops
 * renewing its job's lock; BullMQ's stalled-job check then gives the job to another worker.
 */
import { hostname } from 'node:os';
import { FlowProducer, Queue, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { UserError, oneLine } from '../../core/errors.ts';
import { version } from '../../core/version.ts';
import type { BackendChoice } from '../../engine/backend-choices.ts';
import { prepareRun } from '../prepare.ts';
import { checkRedis, parseQueueUrl } from './connection.ts';
import { QUEUE_NAME, type JobData } from './flow.ts';
import { JobProcessor } from './jobs.ts';
import { readMeta } from './meta.ts';

export interface WorkerOptions {
  queue: string;
  /** Overrides the run's backend (images then say which backend made them). */
  backend?: BackendChoice;
  /** Net threads of this worker (default: the run's, else one per core). */
  workers?: number;
  /** Keep waiting for jobs when the queue is empty. */
  forever?: boolean;
}

export interface WorkerSummary {
  done: number;
  failed: number;
}

/** How long a job's lock lasts without renewal (DEEPVIS_QUEUE_LOCK_MS, default 30 s): a lost worker's job is retried after about this long. */
export function lockMs(): number {
  const v = Number(process.env.DEEPVIS_QUEUE_LOCK_MS);
  return Number.isFinite(v) && v >= 1000 ? v : 30_000;
}

const IDLE_CHECKS = 3;

export async function runWorker(o: WorkerOptions): Promise<WorkerSummary> {
  const addr = parseQueueUrl(o.queue);
  await checkRedis(addr);
  const redis = new Redis(addr.options);
  const queue = new Queue(QUEUE_NAME, { connection: addr.options });
  const me = `${hostname()}-${process.pid}`;
  const log = (s: string) => console.log(`worker ${me}: ${s}`);
  try {
    let meta = await readMeta(redis);
    while (!meta && o.forever) {
      await new Promise((r) => setTimeout(r, 2000));
      meta = await readMeta(redis);
    }
    if (!meta) {
      log(`no run in ${addr.shown}: nothing to do`);
      return { done: 0, failed: 0 };
    }
    if (meta.version !== version())
      throw new UserError(
        `${addr.shown} holds a run made by deepvis ${meta.version}; this worker is deepvis ${version()} (use the same version on every machine)`,
      );
    const backend = o.backend ?? meta.backend;
    const cfg = { ...meta.config, workers: o.workers ?? meta.config.workers };
    const run = await prepareRun(cfg, backend, { quiet: true });
    if (run.fingerprint !== meta.fingerprint) {
      throw new UserError(
        `this machine sees another run than the queue's (here: ${run.files.length} images, model ${run.model.id}): mount the shared folders at the same paths as the machine that queued it`,
      );
    }
    log(`run of ${meta.model} from ${addr.shown}, backend ${backend}`);
    const flows = new FlowProducer({ connection: addr.options });
    const processor = new JobProcessor(run, backend, flows);
    const summary: WorkerSummary = { done: 0, failed: 0 };
    const lock = lockMs();
    const worker = new Worker<JobData, string>(
      QUEUE_NAME,
      async (job: Job<JobData, string>) => {
        log(`start ${job.id}`);
        const t0 = Date.now();
        const what = await processor.process(job.data);
        log(`done ${job.id} in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
        return what;
      },
      { connection: addr.options, concurrency: 1, lockDuration: lock, stalledInterval: lock, maxStalledCount: 2, autorun: false },
    );
    worker.on('completed', () => void summary.done++);
    worker.on('failed', (job, err) => {
      summary.failed++;
      log(`failed ${job?.id ?? '?'} (attempt ${job?.attemptsMade ?? '?'}): ${oneLine(err)}`);
    });
    worker.on('error', (err) => log(`error: ${oneLine(err)}`));
    const running = worker.run();
    // Until the queue has nothing left to run (several checks in a row, so that a flow being added
    // by another worker is not mistaken for the end).
    let idle = 0;
    while (!o.forever && idle < IDLE_CHECKS) {
      await new Promise((r) => setTimeout(r, 1000));
      const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused');
      const left = Object.values(c).reduce((a, b) => a + b, 0);
      idle = left === 0 ? idle + 1 : 0;
    }
    if (o.forever) await running;
    await worker.close();
    await running;
    await processor.close();
    await flows.close();
    log(`queue empty: ${summary.done} jobs done, ${summary.failed} failed attempts`);
    return summary;
  } finally {
    await queue.close();
    redis.disconnect();
  }
}
