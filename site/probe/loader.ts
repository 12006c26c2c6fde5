/**
 * Fetches the exported network (pipeline/site/export/format.ts): model.json, then the weight shards
 * with byte-level progress, and rebuilds the Model the pipeline's executor runs.
 */
import type { Model } from '../../pipeline/graph/types.ts';
import { checkExportedModel, decodeGroup, groupBytes, toModel, type ModelTopology } from '../../pipeline/site/export/format.ts';

export interface Loaded {
  model: Model;
  topology: ModelTopology;
  bytes: number;
}

export type OnProgress = (loaded: number, total: number) => void;

async function fetchOk(url: string): Promise<Response> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
  return res;
}

async function readAll(res: Response, onBytes: (n: number) => void): Promise<ArrayBuffer> {
  if (!res.body) {
    const b = await res.arrayBuffer();
    onBytes(b.byteLength);
    return b;
  }
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
    onBytes(value.byteLength);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out.buffer;
}

export async function loadExportedModel(url: string, onProgress: OnProgress = () => {}): Promise<Loaded> {
  const doc = checkExportedModel(await (await fetchOk(url)).json());
  const base = new URL('.', new URL(url, location.href));
  const total = doc.weightsManifest.reduce((s, g) => s + groupBytes(g), 0);
  let loaded = 0;
  onProgress(0, total);
  const weights = new Map();
  for (const group of doc.weightsManifest) {
    // Up to 4 shards in flight; each reports its bytes as they arrive.
    const shards: ArrayBuffer[] = new Array(group.paths.length);
    let next = 0;
    const worker = async () => {
      while (next < group.paths.length) {
        const i = next++;
        const res = await fetchOk(new URL(group.paths[i], base).href);
        shards[i] = await readAll(res, (n) => {
          loaded += n;
          onProgress(loaded, total);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(4, group.paths.length) }, worker));
    decodeGroup(group, shards, weights);
  }
  return { model: toModel(doc.modelTopology, weights), topology: doc.modelTopology, bytes: total };
}
