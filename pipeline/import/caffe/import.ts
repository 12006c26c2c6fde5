import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { inferShapes } from '../../graph/shapes.ts';
import type { Graph } from '../../graph/types.ts';
import { readCaffemodelFile } from './caffemodel.ts';
import { caffeNetFromText } from './layers.ts';
import { parsePrototxt } from './prototxt.ts';
import { matchWeights } from './weights.ts';

/**
 * A Caffe model → Graph: parse the prototxt, convert layers, infer shapes and receptive fields,
 * then (when a .caffemodel is given) read and match the weights.
 */
export async function importCaffe(prototxtPath: string, caffemodelPath?: string): Promise<Graph> {
  let text: string;
  try {
    text = await readFile(prototxtPath, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${prototxtPath}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const def = caffeNetFromText(parsePrototxt(text, prototxtPath), prototxtPath);
  const { input, blobs } = inferShapes(def.layers, prototxtPath);
  const graph: Graph = { name: def.name || basename(prototxtPath, '.prototxt'), layers: def.layers, input, blobs };
  if (caffemodelPath) {
    const raw = await readCaffemodelFile(caffemodelPath);
    graph.weights = matchWeights(graph, raw, caffemodelPath, def.transposedFc);
  }
  return graph;
}
