/**
 * `deepvis site build` step: exports the network of every gallery model whose model.json names its
 * `source` (the `--model` it was made with) into `<out>/<model>/probe/net/`, for the probe page.
 * Models without a source get no probe network (the page says so).
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { UserError } from '../errors.ts';
import { loadModel } from '../model/load.ts';
import { parsePreprocessObject } from '../model/preprocess-imported.ts';
import { exportModel, type ExportReport } from './export.ts';
import { probeNetDir } from './paths.ts';

export interface SiteExportReport {
  models: (ExportReport & { id: string })[];
  /** Models of the gallery without a `source` (no probe network). */
  skipped: string[];
  ms: number;
}

interface RawModel {
  id?: unknown;
  name?: unknown;
  source?: unknown;
  preprocess?: unknown;
  layers?: { name?: unknown }[];
  input?: { size?: unknown };
}

/** `source` as loadModel takes it: a preset name, or a path (relative ones resolve against the data root). */
export function resolveSource(source: string, dataRoot: string): string {
  if (isAbsolute(source)) return source;
  const p = resolve(dataRoot, source);
  return existsSync(p) ? p : source;
}

/** The `source` of <dataRoot>/<id>/model.json, or undefined. */
export async function modelSource(dataRoot: string, id: string): Promise<string | undefined> {
  const file = join(dataRoot, id, 'model.json');
  let raw: RawModel;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as RawModel;
  } catch (e) {
    throw new UserError(`${file}: cannot read (${(e as Error).message})`);
  }
  if (raw.source === undefined) return undefined;
  if (typeof raw.source !== 'string' || !raw.source) throw new UserError(`${file}: "source" must be a model folder or preset name`);
  return raw.source;
}

export async function exportModelsForSite(dataRoot: string, out: string, opts: { quiet?: boolean } = {}): Promise<SiteExportReport> {
  const t0 = Date.now();
  const say = (s: string) => opts.quiet || process.stderr.write(`${s}\n`);
  const report: SiteExportReport = { models: [], skipped: [], ms: 0 };
  const dirs = (await readdir(dataRoot, { withFileTypes: true })).filter((d) => d.isDirectory() && existsSync(join(dataRoot, d.name, 'model.json')));
  for (const d of dirs.sort((a, b) => a.name.localeCompare(b.name))) {
    const file = join(dataRoot, d.name, 'model.json');
    const raw = JSON.parse(await readFile(file, 'utf8')) as RawModel;
    const target = join(out, probeNetDir(d.name));
    const source = await modelSource(dataRoot, d.name);
    if (!source) {
      report.skipped.push(d.name);
      await rm(target, { recursive: true, force: true });
      continue;
    }
    const preprocess = raw.preprocess === undefined ? undefined : parsePreprocessObject(raw.preprocess, `${file}: preprocess`);
    const model = await loadModel(resolveSource(source, dataRoot), { preprocess });
    const blobs = new Set(model.graph.blobs.map((b) => b.name));
    for (const l of raw.layers ?? []) {
      if (typeof l.name === 'string' && !blobs.has(l.name)) throw new UserError(`${file}: layer "${l.name}" is not a blob of its source model ${source}`);
    }
    const size = raw.input?.size;
    if (Array.isArray(size) && (size[0] !== model.preprocess.size[0] || size[1] !== model.preprocess.size[1])) {
      throw new UserError(`${file}: input ${size.join('×')} differs from its source model ${source} (${model.preprocess.size.join('×')})`);
    }
    model.id = d.name;
    const r = await exportModel(model, target, { name: typeof raw.name === 'string' ? raw.name : d.name });
    report.models.push({ id: d.name, ...r });
    say(`site: probe network of ${d.name}: ${(r.weightBytes / 1e6).toFixed(1)} MB in ${r.files.length - 1} shard(s)`);
  }
  report.ms = Date.now() - t0;
  return report;
}
