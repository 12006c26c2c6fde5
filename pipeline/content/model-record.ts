/**
 * `<model>/model.json` (ModelRecord) from a loaded Model: the site needs it for every model with
 * unit records. Its content is a pure function of the model (every blob but the input, in graph
 * order), so any stage may (re)write it at any time without coordinating with the others.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Model } from '../graph/types.ts';
import { classLayers } from '../graph/classes.ts';
import { writeJsonAtomic } from '../io/atomic.ts';
import { layerSlug, type ModelRecord } from './types.ts';

/**
 * Blobs that are the class token's view of a token blob (import/graph-builder.ts addTokenViews):
 * a `tokengrid` layer over tokens before the patch grid.
 */
function classTokenViews(model: Model): Set<string> {
  const { graph } = model;
  const info = new Map(graph.blobs.map((b) => [b.name, b]));
  const out = new Set<string>();
  for (const l of graph.layers) {
    if (l.kind !== 'tokengrid') continue;
    const grid = info.get(l.bottoms[0])?.tokens;
    if (grid && l.first < grid.first) out.add(l.tops[0]);
  }
  return out;
}

export function modelRecord(model: Model): ModelRecord {
  const classes = classLayers(model);
  const classToken = classTokenViews(model);
  const { graph } = model;
  const rec: ModelRecord = {
    id: model.id,
    name: graph.name || model.id,
    input: { size: model.preprocess.size, channelOrder: model.preprocess.channelOrder },
    layers: graph.blobs
      .filter((b) => b.name !== graph.input.blob)
      .map((b) => ({
        name: b.name,
        slug: layerSlug(b.name),
        kind: classToken.has(b.name) ? 'classtoken' : b.producer,
        shape: b.shape,
        units: b.shape[0],
        rf: { size: b.rf.size, stride: b.rf.stride },
        classLayer: classes.has(b.name),
      })),
  };
  // Where the weights came from, for the site's probe page (it re-exports the network): the file,
  // or the file and the seed of the random weights that filled or replaced its own.
  if (model.randomWeights !== undefined && model.source) {
    rec.source = model.source;
    rec.randomWeights = model.randomWeights;
  } else if (model.graph.weights && model.source && !model.source.endsWith('.prototxt')) rec.source = model.source;
  if (rec.source && model.preprocessSpec) rec.preprocess = { ...model.preprocessSpec };
  if (model.labels) rec.labels = model.labels.map((l) => (l.synset ? { index: l.index, synset: l.synset, name: l.name } : { index: l.index, name: l.name }));
  return rec;
}

/** Writes `<dataRoot>/<model>/model.json` when absent or different; returns whether it wrote. */
export async function writeModelRecord(dataRoot: string, model: Model): Promise<boolean> {
  const path = join(dataRoot, model.id, 'model.json');
  const text = JSON.stringify(modelRecord(model), null, 1) + '\n';
  const old = await readFile(path, 'utf8').catch(() => undefined);
  if (old === text) return false;
  await writeJsonAtomic(path, JSON.parse(text));
  return true;
}
