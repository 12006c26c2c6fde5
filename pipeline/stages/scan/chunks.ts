/**
 * The scan split over machines: a map over chunks of images, then one merge.
 *
 * Chunk c holds images [c·chunk, (c+1)·chunk) of the plan's file list. `runScanChunk` scans one
 * chunk into a state of its own (the chunk's top-k entries, its correlation sums from zero, its
 * skipped images) and writes it as `state/scan-<key>.chunks/<c>.part` (the checkpoint format,
 * atomically). `mergeScanChunks` reads every chunk's part in chunk order and combines them
 * exactly as one process scanning the chunks in turn does (./scan.ts), then writes the ordinary
 * checkpoint as complete: from there the records and renders are the one-machine code.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { decodeState, loadState, saveState, type ScanState } from './checkpoint.ts';
import type { ScanRunner as Runner } from './handler-table.ts';
import type { ScanPlan } from './plan.ts';
import { addChunkSums, batchJobs, batchResults, corrOffsetsOf, freshState, mergeBatch, statePath } from './scan.ts';
import { entries, offer } from './topk.ts';

export function chunkCount(plan: ScanPlan, chunk: number): number {
  return Math.ceil(plan.files.length / chunk);
}

export function chunkDir(stateDir: string, key: string): string {
  return join(stateDir, `scan-${key}.chunks`);
}

export function chunkPartPath(stateDir: string, key: string, c: number): string {
  return join(chunkDir(stateDir, key), `${c}.part`);
}

/** True when the scan's merged checkpoint is complete (nothing of the map/merge left to do). */
export async function scanMerged(plan: ScanPlan, stateDir: string): Promise<boolean> {
  return (await loadState(statePath(stateDir, plan.key), plan.key))?.complete === true;
}

/** True when chunk c's part exists (written whole, so existing means finished). */
export function chunkDone(plan: ScanPlan, stateDir: string, c: number): boolean {
  return existsSync(chunkPartPath(stateDir, plan.key, c));
}

export interface ScanChunkOptions {
  plan: ScanPlan;
  runner: Runner;
  batch: number;
  chunk: number;
  stateDir: string;
  index: number;
}

/** Scans chunk `index` and writes its part; returns the number of images scanned. */
export async function runScanChunk(o: ScanChunkOptions): Promise<number> {
  const { plan, runner } = o;
  const start = o.index * o.chunk;
  const end = Math.min(plan.files.length, start + o.chunk);
  if (!(o.index >= 0 && start < plan.files.length)) throw new Error(`scan chunk ${o.index}: out of range (${chunkCount(plan, o.chunk)} chunks)`);
  const state = freshState(plan, plan.classCount);
  const todo = batchJobs(start, end, o.batch, o.chunk);
  const offsets = corrOffsetsOf(plan);
  for await (const { job, result } of batchResults(plan, runner, todo, !!state.corr)) mergeBatch(state, state.corr, state.stats, plan, job, result, offsets);
  state.done = end;
  state.complete = false;
  await saveState(chunkPartPath(o.stateDir, plan.key, o.index), state);
  return end - start;
}

/**
 * Combines every chunk's part into the scan's checkpoint (complete) and removes the parts.
 * A missing part is a UserError naming the chunks still to scan.
 */
export async function mergeScanChunks(plan: ScanPlan, stateDir: string, chunk: number): Promise<ScanState> {
  const final = statePath(stateDir, plan.key);
  const merged = await loadState(final, plan.key);
  if (merged?.complete) return merged;
  const n = chunkCount(plan, chunk);
  const missing = Array.from({ length: n }, (_, c) => c).filter((c) => !chunkDone(plan, stateDir, c));
  if (missing.length) {
    const list = missing.length > 8 ? `${missing.slice(0, 8).join(', ')} … (${missing.length} in all)` : missing.join(', ');
    throw new UserError(`scan: chunk${missing.length > 1 ? 's' : ''} ${list} of ${n} not scanned yet (run the shards that own them first)`);
  }
  const total = freshState(plan, plan.classCount);
  for (let c = 0; c < n; c++) {
    const path = chunkPartPath(stateDir, plan.key, c);
    const part = decodeState(await readFile(path), path);
    if (part.key !== plan.key) throw new UserError(`${path}: a chunk of another scan (key ${part.key}, expected ${plan.key})`);
    part.topk.forEach((t, bi) => {
      const into = total.topk[bi];
      for (let u = 0; u < t.units; u++) for (const e of entries(t, u)) offer(into, u, e.value, e.image, e.position);
    });
    addChunkSums(total, part.corr, part.stats);
    total.skipped.push(...part.skipped);
  }
  total.done = plan.files.length;
  total.complete = true;
  await saveState(final, total);
  await rm(chunkDir(stateDir, plan.key), { recursive: true, force: true });
  return total;
}

/** Chunk indices whose parts exist (for status lines). */
export async function chunksDone(stateDir: string, key: string): Promise<number[]> {
  const names = await readdir(chunkDir(stateDir, key)).catch(() => [] as string[]);
  return names
    .map((n) => /^(\d+)\.part$/.exec(n))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}
