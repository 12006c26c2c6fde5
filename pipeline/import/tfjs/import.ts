import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { inferShapes } from '../../graph/shapes.ts';
import type { Graph } from '../../graph/types.ts';
import { convertGraphDef } from './graph-model.ts';
import { convertKeras } from './keras.ts';
import { checkManifest, readWeights } from './weights.ts';

/**
 * A TensorFlow.js model (`model.json` + weight shards) → Graph: Layers models (Keras topology;
 * every layer output is a blob named after the layer) and Graph models (GraphDef; every node
 * computed from the image is a blob named after the node).
 */

export interface TfjsImportOptions {
  /** Read the weight shards (default true). */
  weights?: boolean;
  /** [C, H, W] for inputs whose size is not declared. */
  inputShape?: number[];
}

export interface TfjsImport {
  graph: Graph;
  outputs: string[];
  format: 'layers-model' | 'graph-model';
}

export async function importTfjs(file: string, opts: TfjsImportOptions = {}): Promise<TfjsImport> {
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new UserError(`${file}: ${err.code ? `cannot read (${err.code})` : `not valid JSON: ${err.message.split('\n')[0]}`}`);
  }
  const topology = json.modelTopology as Record<string, unknown> | undefined;
  if (!topology || typeof topology !== 'object') throw new UserError(`${file}: no "modelTopology": not a TensorFlow.js model.json`);
  const isGraph = json.format === 'graph-model' || Array.isArray((topology as { node?: unknown }).node);
  const manifest = checkManifest(json.weightsManifest ?? [], file);
  const weights = opts.weights === false ? undefined : await readWeights(manifest, file);
  const { em, outputs } = isGraph
    ? convertGraphDef(topology, file, weights, opts.inputShape, json.signature as Record<string, unknown> | undefined)
    : convertKeras(topology, file, weights, opts.inputShape);
  const { input, blobs } = inferShapes(em.layers, file);
  const name = String((topology as { config?: { name?: string } }).config?.name ?? basename(dirname(file)));
  const graph: Graph = { name, layers: em.layers, input, blobs, ...(weights ? { weights: em.weights } : {}) };
  return { graph, outputs, format: isGraph ? 'graph-model' : 'layers-model' };
}
