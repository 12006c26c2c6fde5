/**
 * The model the gallery's probe page runs in the browser: one `model.json` plus weight shards, in
 * TensorFlow.js's weights-manifest format (`tf.io.loadWeights` / `tf.io.decodeWeights` read the
 * shards), with the network's graph, preprocessing and labels as the topology. Browser-safe: no
 * Node imports; the site's probe and the exporter (pipeline/site/export/export.ts) share these shapes.
 *
 *   model.json  {format, formatVersion, generatedBy, modelTopology, weightsManifest}
 *   group1-shard<i>of<n>.bin  float32 little-endian, weights back to back in manifest order,
 *                             split every `shardBytes` (a weight may straddle two shards, as in tfjs)
 */
import type { Graph, Label, Model, ParamBlob, Preprocess } from '../../graph/types.ts';

export const EXPORT_FORMAT = 'deepvis-graph';
export const EXPORT_FORMAT_VERSION = 1;
/** Shard size limit, as the TensorFlow.js converter's default (4 MB). */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

/** One weight tensor of the manifest (TensorFlow.js `WeightsManifestEntry`). */
export interface WeightEntry {
  /** `<layer name>/<index of the parameter blob>`, e.g. `conv1/0` (filters), `conv1/1` (bias). */
  name: string;
  shape: number[];
  dtype: 'float32';
}

/** TensorFlow.js `WeightsManifestGroupConfig`. */
export interface WeightsGroup {
  /** Shard files, relative to model.json. */
  paths: string[];
  weights: WeightEntry[];
}

export interface ModelTopology {
  id: string;
  /** Display name (the gallery's model name). */
  name: string;
  /** Layers, input and blobs of the network (pipeline/graph/types.ts), without weights. */
  graph: Omit<Graph, 'weights'>;
  preprocess: Preprocess;
  /** How the pipeline resizes images (pipeline/image/decode.ts), reproduced by the browser (site/probe/resize.ts). */
  resize: ResizeMethod;
  labels?: Label[];
}

export interface ExportedModel {
  format: typeof EXPORT_FORMAT;
  formatVersion: number;
  generatedBy: string;
  modelTopology: ModelTopology;
  weightsManifest: WeightsGroup[];
}

/**
 * The pipeline's resize: `bilinear` = OpenCV INTER_LINEAR (half-pixel centres, edges clamped, no
 * antialiasing, rounded to 8 bits) of the full-size decoded image; `libvips` = sharp's resize with
 * that kernel.
 */
export type ResizeMethod = { method: 'bilinear' } | { method: 'libvips'; kernel: string };

export const weightName = (layer: string, index: number) => `${layer}/${index}`;

/** Splits a weight name back into layer name and parameter index (layer names may contain `/`). */
export function parseWeightName(name: string): { layer: string; index: number } {
  const at = name.lastIndexOf('/');
  const index = Number(name.slice(at + 1));
  if (at <= 0 || !Number.isInteger(index) || index < 0) throw new Error(`weight "${name}" is not named <layer>/<index>`);
  return { layer: name.slice(0, at), index };
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** Number of bytes the weights of a group take (float32). */
export function groupBytes(group: WeightsGroup): number {
  return group.weights.reduce((s, w) => s + 4 * count(w.shape), 0);
}

/**
 * Weights of one group from its shards (in `paths` order) → parameter blobs by layer. Throws when
 * the shards' total size does not match the manifest.
 */
export function decodeGroup(group: WeightsGroup, shards: ArrayBuffer[], into = new Map<string, ParamBlob[]>()): Map<string, ParamBlob[]> {
  const total = shards.reduce((s, b) => s + b.byteLength, 0);
  const need = groupBytes(group);
  if (total !== need) throw new Error(`weight shards hold ${total} bytes, the manifest lists ${need}`);
  const all = new Uint8Array(total);
  let at = 0;
  for (const b of shards) {
    all.set(new Uint8Array(b), at);
    at += b.byteLength;
  }
  const view = new DataView(all.buffer);
  const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  let offset = 0;
  for (const w of group.weights) {
    if (w.dtype !== 'float32') throw new Error(`weight ${w.name}: dtype ${w.dtype} is not supported`);
    const n = count(w.shape);
    let data: Float32Array;
    if (littleEndian) data = new Float32Array(all.buffer.slice(offset, offset + 4 * n));
    else {
      data = new Float32Array(n);
      for (let i = 0; i < n; i++) data[i] = view.getFloat32(offset + 4 * i, true);
    }
    offset += 4 * n;
    const { layer, index } = parseWeightName(w.name);
    const list = into.get(layer) ?? [];
    list[index] = { shape: w.shape.slice(), data };
    into.set(layer, list);
  }
  return into;
}

/** The Model an exported topology and its decoded weights describe (what `createNet` takes). */
export function toModel(topology: ModelTopology, weights: Map<string, ParamBlob[]>): Model {
  for (const [layer, list] of weights) {
    for (let i = 0; i < list.length; i++) if (!list[i]) throw new Error(`layer ${layer}: parameter ${i} is missing from the weights`);
  }
  return {
    id: topology.id,
    graph: { ...topology.graph, weights },
    preprocess: topology.preprocess,
    labels: topology.labels,
    source: topology.id,
  };
}

/** Checks the parts of model.json the probe relies on; returns it typed. */
export function checkExportedModel(json: unknown): ExportedModel {
  const m = json as Partial<ExportedModel> | null;
  if (!m || m.format !== EXPORT_FORMAT) throw new Error(`not a deepvis model export (format ${JSON.stringify(m?.format)})`);
  if (m.formatVersion !== EXPORT_FORMAT_VERSION) throw new Error(`model export version ${m.formatVersion} (this page reads version ${EXPORT_FORMAT_VERSION})`);
  if (!m.modelTopology?.graph?.layers || !Array.isArray(m.weightsManifest)) throw new Error('model export lacks its topology or weights manifest');
  return m as ExportedModel;
}
