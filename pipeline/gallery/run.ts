/**
 * `deepvis run`: import → optimize → scan (+ patches and deconv) → site build, each stage resumable;
 * the site is rebuilt only when the records' content changed. One progress line per stage, then a
 * summary with the time of each stage and where the gallery is.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { formatDuration } from '../core/progress.ts';
import { writeModelRecord } from '../content/model-record.ts';
import type { BackendChoice } from '../engine/backend-choices.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { buildSite, isBuilt } from '../site/build.ts';
import { optimize } from '../stages/optimize/stage.ts';
import { mergeScan, scan } from '../stages/scan/stage.ts';
import type { RunConfig } from './config.ts';
import { dataFingerprint } from './fingerprint.ts';
import { prepareRun, type PreparedRun } from './prepare.ts';
import { missingWork } from './shard.ts';
import { judgeImages } from './judge.ts';

/** What `deepvis run` did: printed as prose, or as one JSON object with --json. */
export interface RunSummary {
  model: string;
  profile: string;
  layers: number;
  units: number;
  images: number;
  data: string;
  dist: string;
  base: string;
  ms: number;
  stages: StageTime[];
}

interface StageTime {
  stage: string;
  ms: number;
  what: string;
}

export interface RunMode {
  /**
   * The final job of a sharded run: every shard's work must be there (a UserError says what is
   * missing); merges the scan's chunks, then renders, writes records and builds the site.
   */
  merge?: boolean;
}

export async function runGallery(cfg: RunConfig, backend: BackendChoice, mode: RunMode = {}): Promise<RunSummary> {
  const t0 = Date.now();
  const times: StageTime[] = [];
  const say = (s: string) => process.env.DEEPVIS_QUIET || process.stderr.write(`${s}\n`);

  // Stage 0: import.
  const run = await prepareRun(cfg, backend);
  const { model, profile, dataRoot } = run;
  await writeModelRecord(dataRoot, model);
  say(`run: ${model.id}, profile ${cfg.profile}: ${run.totalUnits} units of ${run.layers.length} layers, ${run.files.length} images → ${dataRoot}`);
  if (mode.merge) {
    await checkShardsDone(run);
    say(`merge: every shard's work is there; merging the scan's ${run.chunks} chunk(s)`);
    await mergeScan(run.scan);
  }

  // Stage 1: activation maximisation.
  let t = Date.now();
  say(`\n[1/3] optimize: ${profile.presets.join(', ')} × ${profile.seeds} seed(s)${profile.steps ? `, ${profile.steps} steps` : ''}`);
  const opt = await optimize(model, run.optimize);
  times.push({ stage: 'optimize', ms: Date.now() - t, what: `${opt.done} images computed, ${opt.total - opt.done} already done` });
  if (cfg.judgeModel) {
    t = Date.now();
    say(`\n[1/3] judge: ${cfg.judgeModel} on the class units' optimised images`);
    const j = await judgeImages(run, cfg.judgeModel, backend);
    times.push({
      stage: 'judge',
      ms: Date.now() - t,
      what: `${j.hits} of ${j.judged} images in ${j.model}'s top 5${j.skipped ? `, ${j.skipped} judged before` : ''}`,
    });
  }

  // Stage 2: max images and deconv.
  t = Date.now();
  say(
    `\n[2/3] scan: top-9 of ${run.files.length} images for every unit of ${run.layers.length} layers; patches + deconv for the ${run.totalUnits} chosen units`,
  );
  const sc = await scan(run.scan);
  times.push({
    stage: 'scan',
    ms: Date.now() - t,
    what: `${sc.scanned} of ${sc.images} images${sc.skipped.length ? ` (${sc.skipped.length} skipped)` : ''}, ${sc.render?.maps ?? 0} patch/deconv maps rendered`,
  });

  // Stage 3: the site, unless it is already built from exactly this content.
  t = Date.now();
  const site = await buildGallerySite(run, say);
  times.push({ stage: 'site', ms: Date.now() - t, what: site });

  return {
    model: model.id,
    profile: cfg.profile,
    layers: run.layers.length,
    units: run.totalUnits,
    images: run.files.length,
    data: dataRoot,
    dist: run.dist,
    base: cfg.base,
    ms: Date.now() - t0,
    stages: times,
  };
}

/** Builds the site unless it is already built from exactly this content; says which. */
export async function buildGallerySite(run: PreparedRun, say: (s: string) => void): Promise<string> {
  const { dataRoot, dist, cfg } = run;
  const stampFile = join(dataRoot, run.model.id, 'state', 'site-build.json');
  const fingerprint = await dataFingerprint(dataRoot);
  const stamp = { fingerprint, dist, base: cfg.base };
  const old = existsSync(stampFile) ? await readFile(stampFile, 'utf8').catch(() => '') : '';
  if (old === JSON.stringify(stamp) && (await isBuilt(dist))) {
    say('\n[3/3] site: up to date');
    return 'up to date';
  }
  say(`\n[3/3] site: astro build + search index → ${dist}`);
  const r = await buildSite({ data: dataRoot, out: dist, base: cfg.base });
  await writeFileAtomic(stampFile, JSON.stringify(stamp));
  return `${r.pages} pages, ${r.units} units`;
}

/** A sharded run's merge needs every shard's optimize images and scan chunks; a UserError says what is missing. */
async function checkShardsDone(run: PreparedRun): Promise<void> {
  const missing = await missingWork(run);
  if (!missing.optimize.length && !missing.chunks.length) return;
  const parts: string[] = [];
  if (missing.optimize.length) {
    const j = missing.optimize[0];
    parts.push(`${missing.optimize.length} optimised image(s) (e.g. ${j.layer} unit ${j.unit} ${j.preset} seed ${j.seed})`);
  }
  if (missing.chunks.length) parts.push(`scan chunk(s) ${missing.chunks.slice(0, 8).join(', ')}${missing.chunks.length > 8 ? ' …' : ''} of ${run.chunks}`);
  throw new UserError(`--merge: the shards have not finished: missing ${parts.join(' and ')}; run every shard (same settings) to the end first`);
}

export function formatRunSummary(s: RunSummary, cfg: RunConfig): string {
  return [
    '',
    `deepvis run: done in ${formatDuration(s.ms)}`,
    ...s.stages.map((st) => `  ${st.stage.padEnd(9)} ${formatDuration(st.ms).padStart(7)}  ${st.what}`),
    `  gallery: ${s.dist}`,
    `  preview: deepvis site serve --dist ${cfg.dist}${cfg.base !== '/' ? ` --base ${cfg.base}` : ''}`,
    `  deploy:  copy ${cfg.dist}/ to any static host or CDN (build with --base /prefix/ for a sub-path)`,
  ].join('\n');
}
