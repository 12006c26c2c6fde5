import type { Graph, Model, ParamBlob } from '../graph/types.ts';
import { graphParamShapes } from '../graph/params.ts';
import { mulberry32 } from '../core/random.ts';

function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/**
 * Seeded random weights for an architecture loaded without them (e.g. a prototxt alone, like
 * caffenet-yos here): conv and fc weights ~ N(0, 2 / fan_in) (He), biases 0.01 (so ReLUs start
 * open), Scale 1 + bias 0, BatchNorm mean 0 / variance 1 / factor 1. Same seed → same weights.
 */
export function randomWeights(graph: Pick<Graph, 'layers' | 'blobs'>, seed: number): Map<string, ParamBlob[]> {
  const normal = gaussian(mulberry32(seed));
  const out = new Map<string, ParamBlob[]>();
  const kinds = new Map(graph.layers.map((l) => [l.name, l.kind]));
  for (const [name, shapes] of graphParamShapes(graph)) {
    const kind = kinds.get(name);
    const blobs = shapes.map((shape, i): ParamBlob => {
      const n = shape.reduce((a, d) => a * d, 1);
      const data = new Float32Array(n);
      if (kind === 'conv' || kind === 'fc') {
        if (i === 0) {
          const fanIn = n / shape[0];
          const sd = Math.sqrt(2 / Math.max(1, fanIn));
          for (let j = 0; j < n; j++) data[j] = normal() * sd;
        } else data.fill(0.01);
      } else if (kind === 'scale') data.fill(i === 0 ? 1 : 0);
      else if (kind === 'batchnorm') data.fill(i === 0 ? 0 : 1);
      return { shape, data };
    });
    out.set(name, blobs);
  }
  return out;
}

/** The model with random weights filled in (a copy; the input model is not changed). */
export function withRandomWeights(model: Model, seed: number): Model {
  return { ...model, graph: { ...model.graph, weights: randomWeights(model.graph, seed) } };
}
