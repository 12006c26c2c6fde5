import { join } from 'node:path';
import { Progress } from '../../core/progress.ts';
import { createTopK, offerBatch } from './topk.ts';
import { addCorr, addCorrBatch, createCorr, type CorrState } from './classes.ts';
import { loadState, saveState, type ScanState } from './checkpoint.ts';
import { addStats, addStatsBatch, clearStats, createStats, type UnitStatsState } from './stats.ts';
import type { ScanBatchArgs, ScanBatchResult } from './handlers.ts';
import type { ScanRunner as Runner } from './handler-table.ts';
import type { ScanPlan } from './plan.ts';

/**
 * The scan stage: every image through the net once, in batches spread over the runner's nets;
 * results merged in image order into the running top-k (and class-correlation sums); after each
 * chunk of images the whole state is checkpointed atomically, so a killed scan resumes at the last
 * chunk boundary and ends with exactly the state an uninterrupted scan reaches.
 *
 * The arithmetic is fixed by the chunks, not by who computes them: each chunk's correlation sums
 * start from zero and are added to the total in chunk order, and the top-k is a pure function of
 * the entries offered (a total order, ./topk.ts). So a chunk can be scanned anywhere
 * (`runScanChunk`, written as a partial file) and `mergeScanChunks` of all of them gives the same
 * bytes as one process scanning them in turn.
 */
export interface ScanStageOptions {
  plan: ScanPlan;
  runner: Runner;
  /** Images per net call. */
  batch: number;
  /** Images per checkpoint. */
  chunk: number;
  /** Folder of the checkpoint (e.g. data/<model>/state). */
  stateDir: string;
  /** Silence the progress line. */
  quiet?: boolean;
  /** Called after each checkpoint (tests). */
  onCheckpoint?: (s: ScanState) => void;
  /** Filled with timings (benchmarks): main-thread time merging results and writing checkpoints. */
  stats?: { mergeMs: number; checkpointMs: number; images: number };
}

export function statePath(stateDir: string, key: string): string {
  return join(stateDir, `scan-${key}.ckpt`);
}

export function freshState(plan: ScanPlan, classes: number): ScanState {
  const corrUnits = plan.corrBlobs.reduce((n, b) => n + b.shape[0], 0);
  return {
    key: plan.key,
    done: 0,
    total: plan.files.length,
    topk: plan.blobs.map((b) => createTopK(b.name, b.shape[0], plan.k)),
    stats: plan.blobs.map((b) => createStats(b.shape[0])),
    corr: plan.probBlob && corrUnits > 0 ? createCorr(corrUnits, classes) : null,
    skipped: [],
    complete: false,
  };
}

export interface BatchJob {
  start: number;
  end: number;
  /** Last batch of a chunk (or of the list): checkpoint after merging it. */
  chunkEnd: boolean;
}

export function batchJobs(from: number, total: number, batch: number, chunk: number): BatchJob[] {
  const out: BatchJob[] = [];
  // Chunks are aligned to multiples of `chunk` so that a resumed scan batches images as the
  // uninterrupted one does.
  for (let c = Math.floor(from / chunk) * chunk; c < total; c += chunk) {
    const cEnd = Math.min(total, c + chunk);
    for (let s = Math.max(c, from); s < cEnd; s += batch) out.push({ start: s, end: Math.min(cEnd, s + batch), chunkEnd: s + batch >= cEnd });
  }
  return out;
}

export async function runScanStage(o: ScanStageOptions): Promise<ScanState> {
  const { plan, runner } = o;
  const path = statePath(o.stateDir, plan.key);
  const state = (await loadState(path, plan.key)) ?? freshState(plan, plan.classCount);
  if (state.complete) return state;
  const todo = batchJobs(state.done, plan.files.length, o.batch, o.chunk);
  const progress = new Progress({
    label: state.done > 0 ? `scan (resumed at ${state.done})` : 'scan',
    total: plan.files.length - state.done,
    rateUnit: 'img/s',
    quiet: o.quiet,
  });
  const corrOffsets = corrOffsetsOf(plan);
  // This chunk's correlation sums and statistics, added to the total at the chunk's end (see above).
  const chunkCorr = state.corr ? createCorr(state.corr.units, state.corr.classes) : null;
  const chunkStats = plan.blobs.map((b) => createStats(b.shape[0]));
  for await (const { job: j, result: r } of batchResults(plan, runner, todo, !!state.corr)) {
    const t0 = performance.now();
    mergeBatch(state, chunkCorr, chunkStats, plan, j, r, corrOffsets);
    const t1 = performance.now();
    progress.tick(j.end - j.start);
    if (j.chunkEnd) {
      addChunkSums(state, chunkCorr, chunkStats);
      if (chunkCorr) clearCorr(chunkCorr);
      for (const cs of chunkStats) clearStats(cs);
      state.done = j.end;
      state.complete = state.done === plan.files.length;
      await saveState(path, state);
      o.onCheckpoint?.(state);
    }
    if (o.stats) {
      o.stats.mergeMs += t1 - t0;
      o.stats.checkpointMs += performance.now() - t1;
      o.stats.images += j.end - j.start;
    }
  }
  progress.finish(`scanned ${plan.files.length - state.skipped.length} images, skipped ${state.skipped.length} (${(progress.rate).toFixed(1)} img/s)`);
  state.complete = true;
  return state;
}

/** The batches run on the runner, a window of them in flight, each result yielded in batch order. */
export async function* batchResults(
  plan: ScanPlan,
  runner: Runner,
  todo: BatchJob[],
  corr: boolean,
): AsyncGenerator<{ job: BatchJob; result: ScanBatchResult }> {
  const window = Math.max(2, runner.size * 2);
  const pending: Promise<ScanBatchResult>[] = [];
  let next = 0;
  for (const job of todo) {
    while (next < todo.length && pending.length < window) pending.push(runner.run('scanBatch', batchArgs(plan, todo[next++], corr)));
    yield { job, result: await pending.shift()! };
  }
}

/**
 * total += one chunk's sums (class correlations, activation statistics): the one way chunks are
 * combined, in chunk order, by a process scanning chunk after chunk and by the merge of chunk parts.
 */
export function addChunkSums(total: ScanState, corr: CorrState | null, stats: UnitStatsState[]): void {
  if (total.corr && corr) addCorr(total.corr, corr);
  stats.forEach((st, bi) => addStats(total.stats[bi], st));
}

/** Where each correlation blob's units start in the flat list of correlation units. */
export function corrOffsetsOf(plan: ScanPlan): Map<string, number> {
  const out = new Map<string, number>();
  let off = 0;
  for (const b of plan.corrBlobs) {
    out.set(b.name, off);
    off += b.shape[0];
  }
  return out;
}

export function batchArgs(plan: ScanPlan, j: BatchJob, corr: boolean): ScanBatchArgs {
  return {
    files: plan.files.slice(j.start, j.end),
    blobs: plan.blobs.map((b) => b.name),
    probBlob: corr ? plan.probBlob : null,
    corrBlobs: corr ? plan.corrBlobs.map((b) => b.name) : [],
  };
}

export function clearCorr(c: CorrState): void {
  c.n = 0;
  for (const a of [c.sumA, c.sumA2, c.sumP, c.sumP2, c.sumAP]) a.fill(0);
}

/** Merges one batch's results: top-k entries into `state`, correlation sums into `corr`, statistics into `stats`, errors into the skipped list. */
export function mergeBatch(
  state: ScanState,
  corr: CorrState | null,
  stats: UnitStatsState[],
  plan: ScanPlan,
  j: BatchJob,
  r: ScanBatchResult,
  corrOffsets: Map<string, number>,
): void {
  const okIdx: number[] = [];
  r.errors.forEach((e, i) => {
    if (e === null) okIdx.push(j.start + i);
    else state.skipped.push({ file: plan.rel[j.start + i], reason: e });
  });
  if (okIdx.length === 0) return;
  plan.blobs.forEach((_b, bi) => {
    offerBatch(state.topk[bi], r.values[bi], r.positions[bi], okIdx);
    addStatsBatch(stats[bi], r.values[bi], okIdx.length);
  });
  if (corr) {
    if (!r.probs || !r.cross) throw new Error('scan: a batch came back without class probabilities');
    const U = corr.units;
    const acts = new Float32Array(okIdx.length * U);
    plan.blobs.forEach((b, bi) => {
      const o = corrOffsets.get(b.name);
      if (o === undefined) return;
      const Ub = b.shape[0];
      const v = r.values[bi];
      for (let n = 0; n < okIdx.length; n++) acts.set(v.subarray(n * Ub, (n + 1) * Ub), n * U + o);
    });
    addCorrBatch(corr, acts, r.probs, okIdx.length, r.cross);
  }
}
