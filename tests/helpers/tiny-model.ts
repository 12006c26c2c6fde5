/** Hand-written layer lists with hand-picked weights: the nets whose results a test can work out by hand. */
import { inferShapes } from '../../pipeline/graph/shapes.ts';
import type { Layer, Model, ParamBlob } from '../../pipeline/graph/types.ts';
import { randomWeights } from '../../pipeline/import/random-weights.ts';
import { rawPreprocess } from './net-graph.ts';

/** A model from a hand-written layer list (C×H×W input) and weights. */
export function tinyModel(layers: Layer[], weights: Record<string, ParamBlob[]> | 'random'): Model {
  const { input, blobs } = inferShapes(layers, 'test');
  const graph = { name: 'tiny', layers, input, blobs, weights: undefined as Map<string, ParamBlob[]> | undefined };
  graph.weights = weights === 'random' ? randomWeights(graph, 5) : new Map(Object.entries(weights));
  return {
    id: 'tiny',
    graph,
    preprocess: rawPreprocess(input.shape[1], input.shape[2]),
    source: 'test',
  };
}
export const P = (shape: number[], data: number[]): ParamBlob => ({ shape, data: Float32Array.from(data) });
export const conv = (name: string, bottom: string, top: string, numOutput: number, k: number, stride = 1, pad = 0): Layer => ({
  kind: 'conv',
  name,
  bottoms: [bottom],
  tops: [top],
  numOutput,
  kernel: [k, k],
  stride: [stride, stride],
  pad: [pad, pad],
  dilation: [1, 1],
  group: 1,
  biasTerm: false,
});
export const relu = (name: string, blob: string): Layer => ({ kind: 'relu', name, bottoms: [blob], tops: [blob], negativeSlope: 0 });
export const pool = (name: string, bottom: string, top: string, k: number, s: number): Layer => ({
  kind: 'pool',
  name,
  bottoms: [bottom],
  tops: [top],
  method: 'max',
  kernel: [k, k],
  stride: [s, s],
  pad: [0, 0],
  global: false,
});
