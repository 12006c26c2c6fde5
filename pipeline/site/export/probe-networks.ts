/**
 * `deepvis site build` step: exports the network of every gallery model whose model.json names its
 * `source` (the `--model` it was made with) into `<out>/<model>/probe/net/`, for the probe page.
 * Models without a source get no probe network (the page says so).
 */
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { ModelRecord } from '../../content/types.ts';
import { listModelDirs, readModel } from '../data.ts';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { loadModel } from '../../import/load.ts';
import { withRandomWeights } from '../../import/random-weights.ts';
import { parsePreprocessObject } from '../../graph/preprocess.ts';
import { exportModel, type ExportReport } from './export.ts';
import { probeNetDir } from './paths.ts';

export interface SiteExportReport {
  models: (ExportReport & { id: string })[];
  /** Models of the gallery without a `source` (no probe network). */
  skipped: string[];
  ms: number;
}

/** `source` as loadModel takes it: a preset name, or a path (relative ones resolve against the data root). */
export function resolveSource(source: string, dataRoot: string): string {
  if (isAbsolute(source)) return source;
  const p = resolve(dataRoot, source);
  return existsSync(p) ? p : source;
}

export interface ExportOptions {
  quiet?: boolean;
  /** The gallery's model records, already read and validated (default: read from `dataRoot`). */
  models?: ModelRecord[];
}

export async function exportModelsForSite(dataRoot: string, out: string, opts: ExportOptions = {}): Promise<SiteExportReport> {
  const t0 = Date.now();
  const say = (s: string) => opts.quiet || process.stderr.write(`${s}\n`);
  const report: SiteExportReport = { models: [], skipped: [], ms: 0 };
  const records = opts.models ?? (await readModels(dataRoot));
  for (const rec of [...records].sort((a, b) => a.id.localeCompare(b.id))) {
    const file = join(dataRoot, rec.id, 'model.json');
    const target = join(out, probeNetDir(rec.id));
    if (!rec.source) {
      report.skipped.push(rec.id);
      await rm(target, { recursive: true, force: true });
      continue;
    }
    const preprocess = rec.preprocess === undefined ? undefined : parsePreprocessObject(rec.preprocess, `${file}: preprocess`);
    const loaded = await loadModel(resolveSource(rec.source, dataRoot), { preprocess });
    const model = rec.randomWeights === undefined ? loaded : withRandomWeights(loaded, rec.randomWeights);
    const blobs = new Set(model.graph.blobs.map((b) => b.name));
    for (const l of rec.layers) {
      if (!blobs.has(l.name)) throw new UserError(`${file}: layer "${l.name}" is not a blob of its source model ${rec.source}`);
    }
    const size = rec.input.size;
    if (size[0] !== model.preprocess.size[0] || size[1] !== model.preprocess.size[1]) {
      throw new UserError(`${file}: input ${size.join('×')} differs from its source model ${rec.source} (${model.preprocess.size.join('×')})`);
    }
    model.id = rec.id;
    const r = await exportModel(model, target, { name: rec.name || rec.id });
    report.models.push({ id: rec.id, ...r });
    say(`site: probe network of ${rec.id}: ${(r.weightBytes / 1e6).toFixed(1)} MB in ${r.files.length - 1} shard(s)`);
  }
  report.ms = Date.now() - t0;
  return report;
}

/** Every <dataRoot>/<id>/model.json, validated by the content schema. */
async function readModels(dataRoot: string): Promise<ModelRecord[]> {
  return Promise.all((await listModelDirs(dataRoot)).map((d) => readModel(dataRoot, d)));
}
