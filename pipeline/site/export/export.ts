/**
 * Writes a loaded Model as the probe's browser model (format: ./format.ts): model.json and
 * float32 weight shards of at most `shardBytes`, written atomically. Shards from an earlier export
 * that are no longer listed are removed.
 */
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../io/atomic.ts';
import { UserError } from '../../core/errors.ts';
import type { Model } from '../../graph/types.ts';
import * as decode from '../../image/decode.ts';
import {
  DEFAULT_SHARD_BYTES,
  EXPORT_FORMAT,
  EXPORT_FORMAT_VERSION,
  weightName,
  type ExportedModel,
  type ResizeMethod,
  type WeightEntry,
  type WeightsGroup,
} from './format.ts';

/**
 * The resize pipeline/image/decode.ts applies, for the browser to reproduce: its own bilinear
 * (`resizeCropBilinear`) or sharp's resize with `RESIZE_KERNEL`. tests/e2e/probe.test.ts checks
 * the browser's pixels against decodeRgb, so a change there that this does not know fails loudly.
 */
export function pipelineResize(): ResizeMethod {
  const d = decode as Record<string, unknown>;
  if (typeof d.resizeCropBilinear === 'function') return { method: 'bilinear' };
  if (typeof d.RESIZE_KERNEL === 'string') return { method: 'libvips', kernel: d.RESIZE_KERNEL };
  throw new Error(
    'pipeline/image/decode.ts: unknown resize (neither resizeCropBilinear nor RESIZE_KERNEL); teach pipeline/site/export/export.ts pipelineResize()',
  );
}

export interface ExportOptions {
  /** Display name (default: the model id). */
  name?: string;
  shardBytes?: number;
}

export interface ExportReport {
  dir: string;
  files: string[];
  /** Bytes of all shards. */
  weightBytes: number;
  params: number;
}

export const MODEL_FILE = 'model.json';
const SHARD = /^group\d+-shard\d+of\d+\.bin$/;

/** Exports `model` (which must have weights) into `dir`. */
export async function exportModel(model: Model, dir: string, opts: ExportOptions = {}): Promise<ExportReport> {
  const shardBytes = opts.shardBytes ?? DEFAULT_SHARD_BYTES;
  if (!Number.isInteger(shardBytes) || shardBytes < 4 || shardBytes % 4) throw new Error(`shardBytes must be a positive multiple of 4, got ${shardBytes}`);
  const { weights, ...graph } = model.graph;
  if (!weights) throw new UserError(`model ${model.source} has no weights: the probe needs a .caffemodel`);

  const entries: WeightEntry[] = [];
  const arrays: Float32Array[] = [];
  for (const layer of graph.layers) {
    const params = weights.get(layer.name);
    if (!params) continue;
    params.forEach((p, i) => {
      const n = p.shape.reduce((a, b) => a * b, 1);
      if (n !== p.data.length) throw new UserError(`layer ${layer.name}: parameter ${i} has shape ${p.shape.join('×')} but ${p.data.length} values`);
      entries.push({ name: weightName(layer.name, i), shape: p.shape.slice(), dtype: 'float32' });
      arrays.push(p.data);
    });
  }
  const total = arrays.reduce((s, a) => s + a.byteLength, 0);
  const nShards = Math.max(1, Math.ceil(total / shardBytes));
  const paths = Array.from({ length: nShards }, (_, i) => `group1-shard${i + 1}of${nShards}.bin`);

  // Stream the weights (little-endian float32) into shards of exactly shardBytes (the last shorter).
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  let shard = new Uint8Array(Math.min(shardBytes, total));
  let filled = 0;
  let written = 0;
  let index = 0;
  const flush = async () => {
    await writeFileAtomic(join(dir, paths[index]), shard.subarray(0, filled));
    written += filled;
    index++;
    shard = new Uint8Array(Math.min(shardBytes, total - written));
    filled = 0;
  };
  for (const a of arrays) {
    let bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    if (!le) {
      const v = new DataView(new ArrayBuffer(a.byteLength));
      a.forEach((x, i) => v.setFloat32(4 * i, x, true));
      bytes = new Uint8Array(v.buffer);
    }
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(bytes.length - at, shard.length - filled);
      shard.set(bytes.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === shard.length && written + filled < total) await flush();
    }
  }
  if (filled > 0 || total === 0) await flush();

  const group: WeightsGroup = { paths, weights: entries };
  const doc: ExportedModel = {
    format: EXPORT_FORMAT,
    formatVersion: EXPORT_FORMAT_VERSION,
    generatedBy: 'deepvis',
    modelTopology: {
      id: model.id,
      name: opts.name ?? model.id,
      graph,
      preprocess: model.preprocess,
      resize: pipelineResize(),
      ...(model.labels ? { labels: model.labels } : {}),
    },
    weightsManifest: [group],
  };
  await writeFileAtomic(join(dir, MODEL_FILE), JSON.stringify(doc));
  const keep = new Set(paths);
  for (const f of await readdir(dir)) if (SHARD.test(f) && !keep.has(f)) await rm(join(dir, f), { force: true });
  return { dir, files: [MODEL_FILE, ...paths], weightBytes: total, params: total / 4 };
}
