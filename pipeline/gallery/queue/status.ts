/**
 * `deepvis status --queue redis://…`: the run a queue holds and, per stage, how many of its jobs
 * are waiting, active, done or failed; failed jobs with their errors.
 */
import { Queue, type Job, type JobType } from 'bullmq';
import { Redis } from 'ioredis';
import { checkRedis, parseQueueUrl } from './connection.ts';
import { JOB_KINDS, QUEUE_NAME, type JobData, type JobKind } from './flow.ts';
import { readMeta, type RunMeta } from './meta.ts';

export type StageCounts = Record<'waiting' | 'active' | 'done' | 'failed', number>;

export interface QueueStatus {
  queue: string;
  run: Pick<RunMeta, 'model' | 'version' | 'backend' | 'created'> | null;
  stages: Partial<Record<JobKind, StageCounts>>;
  failed: { id: string; error: string; attempts: number }[];
}

const STATES: [JobType, keyof StageCounts][] = [
  ['waiting', 'waiting'],
  ['prioritized', 'waiting'],
  ['delayed', 'waiting'],
  ['waiting-children', 'waiting'],
  ['active', 'active'],
  ['completed', 'done'],
  ['failed', 'failed'],
];

export async function queueStatus(url: string): Promise<QueueStatus> {
  const addr = parseQueueUrl(url);
  await checkRedis(addr);
  const redis = new Redis(addr.options);
  const queue = new Queue(QUEUE_NAME, { connection: addr.options });
  try {
    const meta = await readMeta(redis);
    const stages: QueueStatus['stages'] = {};
    const failed: QueueStatus['failed'] = [];
    for (const [type, column] of STATES) {
      const jobs = (await queue.getJobs([type], 0, -1)) as (Job<JobData> | undefined)[];
      for (const j of jobs) {
        if (!j) continue;
        const kind = j.data.kind;
        const row = (stages[kind] ??= { waiting: 0, active: 0, done: 0, failed: 0 });
        row[column]++;
        if (type === 'failed' && !/^child \S+ failed/.test(j.failedReason ?? ''))
          failed.push({ id: j.id ?? '?', error: j.failedReason ?? '', attempts: j.attemptsMade });
      }
    }
    return { queue: addr.shown, run: meta ? { model: meta.model, version: meta.version, backend: meta.backend, created: meta.created } : null, stages, failed };
  } finally {
    await queue.close();
    redis.disconnect();
  }
}

export function formatStatus(s: QueueStatus): string {
  if (!s.run) return `${s.queue}: no run queued`;
  const lines = [`${s.queue}: ${s.run.model}, backend ${s.run.backend}, deepvis ${s.run.version}, queued ${s.run.created}`];
  lines.push(`  ${'stage'.padEnd(9)} ${'waiting'.padStart(7)} ${'active'.padStart(7)} ${'done'.padStart(7)} ${'failed'.padStart(7)}`);
  for (const k of JOB_KINDS) {
    const r = s.stages[k];
    if (!r) continue;
    lines.push(
      `  ${k.padEnd(9)} ${String(r.waiting).padStart(7)} ${String(r.active).padStart(7)} ${String(r.done).padStart(7)} ${String(r.failed).padStart(7)}`,
    );
  }
  if (!s.stages.site) lines.push('  (render and site jobs are queued once the scan is merged)');
  for (const f of s.failed) lines.push(`  failed: ${f.id} after ${f.attempts} attempt(s): ${f.error}`);
  return lines.join('\n');
}
