/**
 * `deepvis run`: import → optimize → scan (+ patches and deconv) → site build, each stage resumable;
 * the site is rebuilt only when the records' content changed. One progress line per stage, then a
 * summary with the time of each stage and where the gallery is.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { UserError } from '../core/errors.ts';
import { formatDuration } from '../core/progress.ts';
import { resolveDataRoot } from '../content/data-root.ts';
import { writeModelRecord } from '../content/model-record.ts';
import type { BackendChoice } from '../engine/backend-choices.ts';
import { classLayers } from '../graph/classes.ts';
import { preprocessOption } from '../graph/preprocess.ts';
import type { Model } from '../graph/types.ts';
import { loadModel } from '../import/load.ts';
import { writeFileAtomic } from '../io/atomic.ts';
import { expandInputs } from '../io/inputs.ts';
import { buildSite, isBuilt } from '../site/build.ts';
import { optimize } from '../stages/optimize/stage.ts';
import { scan } from '../stages/scan/stage.ts';
import type { RunConfig } from './config.ts';
import { dataFingerprint } from './fingerprint.ts';
import { defaultLayers } from './layers.ts';
import { PROFILE_TABLE, selectUnits } from './profiles.ts';

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

export async function runGallery(cfg: RunConfig, backend: BackendChoice): Promise<RunSummary> {
  const t0 = Date.now();
  const times: StageTime[] = [];
  const say = (s: string) => process.env.DEEPVIS_QUIET || process.stderr.write(`${s}\n`);

  // Stage 0: import.
  const model = await loadModel(cfg.model, { preprocess: await preprocessOption(cfg.preprocess) });
  if (!model.graph.weights) throw new UserError(`${cfg.model}: no weights found (a gallery needs a trained model: add the .caffemodel)`);
  const files = await expandInputs(cfg.images);
  if (files.length === 0) throw new UserError(`no images found in ${cfg.images.join(', ')}`);
  const layers = cfg.layers.length ? checkLayers(model, cfg.layers) : defaultLayers(model);
  const profile = PROFILE_TABLE[cfg.profile];
  const classes = classLayers(model);
  const selection = layers.map((name) => {
    const count = model.graph.blobs.find((b) => b.name === name)!.shape[0];
    return { name, units: selectUnits(profile, model, count, classes.has(name)) };
  });
  const totalUnits = selection.reduce((n, l) => n + l.units.length, 0);
  const dataRoot = resolveDataRoot(cfg.data);
  await writeModelRecord(dataRoot, model);
  say(`run: ${model.id}, profile ${cfg.profile}: ${totalUnits} units of ${layers.length} layers, ${files.length} images → ${dataRoot}`);

  // Stage 1: activation maximisation.
  let t = Date.now();
  say(`\n[1/3] optimize: ${profile.presets.join(', ')} × ${profile.seeds} seed(s)${profile.steps ? `, ${profile.steps} steps` : ''}`);
  const opt = await optimize(model, {
    dataRoot,
    layers: selection,
    presets: profile.presets,
    seeds: Array.from({ length: profile.seeds }, (_, i) => cfg.seed + i),
    steps: profile.steps,
    batch: 8,
    objective: 'center',
    lrMode: 'calibrated',
    resume: true,
    backend,
    workers: cfg.workers,
  });
  times.push({ stage: 'optimize', ms: Date.now() - t, what: `${opt.done} images computed, ${opt.total - opt.done} already done` });

  // Stage 2: max images and deconv.
  t = Date.now();
  say(`\n[2/3] scan: top-9 of ${files.length} images for every unit of ${layers.length} layers; patches + deconv for the ${totalUnits} chosen units`);
  const sc = await scan({
    model,
    files,
    layers,
    units: Object.fromEntries(selection.map((l) => [l.name, l.units])),
    k: 9,
    mode: 'deconv',
    out: dataRoot,
    backend,
    workers: cfg.workers,
    batch: 8,
    chunk: 256,
    weightsTag: 'file',
  });
  times.push({
    stage: 'scan',
    ms: Date.now() - t,
    what: `${sc.scanned} of ${sc.images} images${sc.skipped.length ? ` (${sc.skipped.length} skipped)` : ''}, ${sc.render?.maps ?? 0} patch/deconv maps rendered`,
  });

  // Stage 3: the site, unless it is already built from exactly this content.
  t = Date.now();
  const dist = resolve(cfg.dist);
  const stampFile = join(dataRoot, model.id, 'state', 'site-build.json');
  const fingerprint = await dataFingerprint(dataRoot);
  const stamp = { fingerprint, dist, base: cfg.base };
  const old = existsSync(stampFile) ? await readFile(stampFile, 'utf8').catch(() => '') : '';
  if (old === JSON.stringify(stamp) && (await isBuilt(dist))) {
    say('\n[3/3] site: up to date');
    times.push({ stage: 'site', ms: Date.now() - t, what: 'up to date' });
  } else {
    say(`\n[3/3] site: astro build + search index → ${dist}`);
    const r = await buildSite({ data: dataRoot, out: dist, base: cfg.base });
    await writeFileAtomic(stampFile, JSON.stringify(stamp));
    times.push({ stage: 'site', ms: Date.now() - t, what: `${r.pages} pages, ${r.units} units` });
  }

  return {
    model: model.id,
    profile: cfg.profile,
    layers: layers.length,
    units: totalUnits,
    images: files.length,
    data: dataRoot,
    dist,
    base: cfg.base,
    ms: Date.now() - t0,
    stages: times,
  };
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

function checkLayers(model: Model, names: string[]): string[] {
  for (const n of names) {
    if (!model.graph.blobs.some((b) => b.name === n) || n === model.graph.input.blob) {
      throw new UserError(`model ${model.id} has no layer "${n}" (see deepvis inspect --model …)`);
    }
  }
  return names;
}
