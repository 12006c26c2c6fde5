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
  if (!cfg.model) throw new UserError('--model is required (a model folder, file, or preset name)');
  if (!cfg.images.length) {
    const sample = process.env.DEEPVIS_ASSETS ? join(process.env.DEEPVIS_ASSETS, 'images', 'imagenet-sample') : undefined;
    if (!sample || !existsSync(sample)) throw new UserError('--images is required: a folder of images (or files, globs)');
    cfg.images = [sample];
  }
  if (!cfg.base.startsWith('/')) throw new UserError(`--base must start with "/", got "${cfg.base}"`);
  const backend = parseBackend(cfg.backend);
  const summary = await runGallery(cfg, backend);
  console.log(v.json ? JSON.stringify(summary) : formatRunSummary(summary, cfg));
}
