/**
 * A run as BullMQ jobs. Jobs carry only their kind and index; what they compute comes from the
 * run's settings (the queue's meta record, ./meta.ts) and lands in the shared data folder.
 *
 *   gather ← optimize-<i> (every batch), merge ← scan-<c> (every chunk)
 *   site   ← render-<c> (every share)          added by gather once the scan is merged
 *
 * BullMQ runs a parent only after all its children completed; a child that fails every attempt
 * fails its parent (failParentOnFailure), so a failure reaches gather or site and the coordinator
 * reports it. Job ids are fixed, so adding a job twice is a no-op, and every job first checks the
 * data folder, so one redone after a lost worker costs little and writes the same bytes.
 */
import type { FlowJob, JobsOptions } from 'bullmq';

export const QUEUE_NAME = 'deepvis';

export type JobKind = 'optimize' | 'scan' | 'merge' | 'gather' | 'render' | 'site';
/** Display order of the stages (status tables). */
export const JOB_KINDS: readonly JobKind[] = ['scan', 'merge', 'optimize', 'gather', 'render', 'site'];

export interface JobData {
  kind: JobKind;
  /** Batch, chunk or share index (optimize, scan, render). */
  index?: number;
}

/** Attempts per job before it is reported as failed. */
export const ATTEMPTS = 3;

function opts(jobId: string, extra: JobsOptions = {}): JobsOptions {
  return { jobId, attempts: ATTEMPTS, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: false, removeOnFail: false, ...extra };
}

const child = (kind: JobKind, index: number | undefined, priority: number, children?: FlowJob[]): FlowJob => ({
  name: kind,
  queueName: QUEUE_NAME,
  data: { kind, index } satisfies JobData,
  opts: opts(index === undefined ? kind : `${kind}-${index}`, { priority, failParentOnFailure: true }),
  ...(children ? { children } : {}),
});

/** The first flow: every optimize batch and the scan (chunks, then their merge), under gather. */
export function gatherFlow(optimizeBatches: number, chunks: number): FlowJob {
  // Scan chunks first (priority 1): the renders wait for their merge, the optimize jobs for nothing.
  const scans = Array.from({ length: chunks }, (_, c) => child('scan', c, 1));
  const optimizes = Array.from({ length: optimizeBatches }, (_, i) => child('optimize', i, 2));
  return {
    name: 'gather',
    queueName: QUEUE_NAME,
    data: { kind: 'gather' } satisfies JobData,
    opts: opts('gather'),
    children: [child('merge', undefined, 1, scans), ...optimizes],
  };
}

/** The second flow (added by the gather job): every render share, under the site build. */
export function siteFlow(chunks: number): FlowJob {
  return {
    name: 'site',
    queueName: QUEUE_NAME,
    data: { kind: 'site' } satisfies JobData,
    opts: opts('site'),
    children: Array.from({ length: chunks }, (_, c) => child('render', c, 1)),
  };
}

/** Jobs in a whole run. */
export function jobTotal(optimizeBatches: number, chunks: number): number {
  return optimizeBatches + chunks + 1 + 1 + chunks + 1;
}
