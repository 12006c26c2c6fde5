/**
 * `deepvis run --shard K/N`: shard K's share of the work that can be split — optimize batch i and
 * scan chunk c belong to shard i mod N and c mod N — written to the shared data folder. The merge
 * (`deepvis run --merge`, once every shard finished) does the rest on one machine: the scan's
 * merge, the renders, the records and the site. As a SLURM array job or a Kubernetes Indexed Job,
 * `--shard auto` reads the index and count from the environment.
 */
import { UserError } from '../core/errors.ts';
import { formatDuration } from '../core/progress.ts';
import { writeModelRecord } from '../content/model-record.ts';
import type { BackendChoice } from '../engine/backend-choices.ts';
import { createRunner } from '../engine/workers/runner.ts';
import type { OptJob } from '../stages/optimize/jobs.ts';
import { optimize, pendingJobs } from '../stages/optimize/stage.ts';
import { SCAN_HANDLERS } from '../stages/scan/handler-table.ts';
import { pendingChunks, scanChunk } from '../stages/scan/stage.ts';
import type { RunConfig } from './config.ts';
import { prepareRun, type PreparedRun } from './prepare.ts';

export interface Shard {
  index: number;
  count: number;
}

/**
 * `K/N` (0 ≤ K < N), or `auto`: SLURM_ARRAY_TASK_ID − SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT,
 * else JOB_COMPLETION_INDEX (Kubernetes Indexed Job) of DEEPVIS_SHARDS (the Job's completions).
 */
export function parseShard(value: string, env: NodeJS.ProcessEnv = process.env): Shard {
  if (value === 'auto') {
    if (env.SLURM_ARRAY_TASK_ID !== undefined) {
      const id = Number(env.SLURM_ARRAY_TASK_ID) - Number(env.SLURM_ARRAY_TASK_MIN ?? 0);
      return checkShard(id, Number(env.SLURM_ARRAY_TASK_COUNT), 'SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT');
    }
    if (env.JOB_COMPLETION_INDEX !== undefined) {
      if (env.DEEPVIS_SHARDS === undefined)
        throw new UserError("--shard auto: JOB_COMPLETION_INDEX is set but not DEEPVIS_SHARDS (set it to the Job's completions)");
      return checkShard(Number(env.JOB_COMPLETION_INDEX), Number(env.DEEPVIS_SHARDS), 'JOB_COMPLETION_INDEX/DEEPVIS_SHARDS');
    }
    throw new UserError(
      '--shard auto: neither SLURM_ARRAY_TASK_ID (SLURM array job) nor JOB_COMPLETION_INDEX (Kubernetes Indexed Job) is set; give --shard K/N',
    );
  }
  const m = /^(\d+)\/(\d+)$/.exec(value);
  if (!m) throw new UserError(`--shard: expected K/N (e.g. 0/4) or auto, got "${value}"`);
  return checkShard(Number(m[1]), Number(m[2]), '--shard');
}

function checkShard(index: number, count: number, where: string): Shard {
  if (!Number.isInteger(count) || count < 1) throw new UserError(`${where}: the shard count must be a positive integer, got ${count}`);
  if (!Number.isInteger(index) || index < 0 || index >= count) throw new UserError(`${where}: the shard index must be in 0..${count - 1}, got ${index}`);
  return { index, count };
}

/** The optimize jobs and scan chunks not finished yet (what a merge needs and lacks). */
export async function missingWork(run: PreparedRun): Promise<{ optimize: OptJob[]; chunks: number[] }> {
  return { optimize: await pendingJobs(run.model, run.optimize), chunks: await pendingChunks(run.scan) };
}

export interface ShardSummary {
  shard: Shard;
  optimizeBatches: number;
  images: number;
  chunks: number;
  scanned: number;
  ms: number;
}

export async function runShard(cfg: RunConfig, backend: BackendChoice, shard: Shard): Promise<ShardSummary> {
  const t0 = Date.now();
  const say = (s: string) => process.env.DEEPVIS_QUIET || process.stderr.write(`${s}\n`);
  const run = await prepareRun(cfg, backend);
  await writeModelRecord(run.dataRoot, run.model);
  const mine = <T>(xs: T[]) => xs.filter((_, i) => i % shard.count === shard.index);
  const batches = mine(run.optimizeBatches);
  const chunks = mine(Array.from({ length: run.chunks }, (_, c) => c));
  say(
    `run: ${run.model.id}, shard ${shard.index}/${shard.count}: ${batches.length} of ${run.optimizeBatches.length} optimize batches, ${chunks.length} of ${run.chunks} scan chunks → ${run.dataRoot}`,
  );

  say(`\n[1/2] optimize (shard ${shard.index}/${shard.count})`);
  const opt = await optimize(run.model, { ...run.optimize, only: batches.flat() });

  say(`\n[2/2] scan chunks (shard ${shard.index}/${shard.count}): ${chunks.join(', ') || 'none'}`);
  let scanned = 0;
  if (chunks.length) {
    const runner = await createRunner({ model: run.model, backend, workers: cfg.workers, handlers: SCAN_HANDLERS });
    try {
      for (const c of chunks) {
        const t = Date.now();
        const n = await scanChunk({ ...run.scan, runner }, c);
        scanned += n;
        say(n ? `  chunk ${c}: ${n} images in ${formatDuration(Date.now() - t)}` : `  chunk ${c}: already done`);
      }
    } finally {
      await runner.close();
    }
  }
  return { shard, optimizeBatches: batches.length, images: opt.done, chunks: chunks.length, scanned, ms: Date.now() - t0 };
}

export function formatShardSummary(s: ShardSummary): string {
  return [
    '',
    `deepvis run --shard ${s.shard.index}/${s.shard.count}: done in ${formatDuration(s.ms)}`,
    `  optimize  ${s.optimizeBatches} batches, ${s.images} images computed`,
    `  scan      ${s.chunks} chunks, ${s.scanned} images scanned`,
    `  then, once all ${s.shard.count} shards are done: deepvis run --merge (same settings)`,
  ].join('\n');
}
