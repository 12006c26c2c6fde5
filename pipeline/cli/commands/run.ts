import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { parseBackend } from '../../engine/backend-choices.ts';
import { checkProfile, readConfigFile, RUN_DEFAULTS, type RunConfig } from '../../gallery/config.ts';
import { formatRunSummary, runGallery } from '../../gallery/run.ts';
import type { ParsedCommand } from '../options.ts';

export async function run({ values: v, positionals }: ParsedCommand<'run'>): Promise<void> {
  const file = await readConfigFile(v.config);
  const cfg: RunConfig = { ...RUN_DEFAULTS, ...file };
  if (v.model) cfg.model = v.model;
  const images = [...(v.images ?? []), ...positionals];
  if (images.length) cfg.images = images;
  if (v.profile) cfg.profile = checkProfile(v.profile, '--profile');
  if (v.preprocess) cfg.preprocess = v.preprocess;
  if (v.layers) cfg.layers = v.layers;
  if (v.data) cfg.data = v.data;
  if (v.dist) cfg.dist = v.dist;
  if (v.base) cfg.base = v.base;
  if (v.backend) cfg.backend = v.backend;
  if (v.workers !== undefined) cfg.workers = v.workers;
  if (v.seeds !== undefined) cfg.seeds = v.seeds;
  if (v.steps !== undefined) cfg.steps = v.steps;
  if (v.chunk !== undefined) cfg.chunk = v.chunk;
  if (v['judge-model']) cfg.judgeModel = v['judge-model'];
  if (v['random-weights'] !== undefined) cfg.randomWeights = v['random-weights'];
  if (!cfg.model) throw new UserError('--model is required (a model folder, file, or preset name)');
  if (!cfg.images.length) {
    const sample = process.env.DEEPVIS_ASSETS ? join(process.env.DEEPVIS_ASSETS, 'images', 'imagenet-sample') : undefined;
    if (!sample || !existsSync(sample)) throw new UserError('--images is required: a folder of images (or files, globs)');
    cfg.images = [sample];
  }
  if (!cfg.base.startsWith('/')) throw new UserError(`--base must start with "/", got "${cfg.base}"`);
  const backend = parseBackend(cfg.backend);
  const modes = [v.shard && '--shard', v.merge && '--merge', v.queue && '--queue'].filter(Boolean);
  if (modes.length > 1) throw new UserError(`${modes.join(' and ')} do not go together: shards and their merge are separate runs, a queue does both`);
  if (v.shard) {
    const { formatShardSummary, parseShard, runShard } = await import('../../gallery/shard.ts');
    const summary = await runShard(cfg, backend, parseShard(v.shard));
    return void console.log(v.json ? JSON.stringify(summary) : formatShardSummary(summary));
  }
  if (v.queue) {
    const { formatQueuedSummary, runQueued } = await import('../../gallery/queue/coordinator.ts');
    const summary = await runQueued(cfg, backend, v.queue);
    return void console.log(v.json ? JSON.stringify(summary) : formatQueuedSummary(summary));
  }
  const summary = await runGallery(cfg, backend, { merge: v.merge });
  console.log(v.json ? JSON.stringify(summary) : formatRunSummary(summary, cfg));
}
