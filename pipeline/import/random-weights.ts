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
        if (i === 0) he(data, n / shape[0], normal);
        else data.fill(0.01);
      } else if (kind === 'scale') data.fill(i === 0 ? 1 : 0);
      else if (kind === 'batchnorm') data.fill(i === 0 ? 0 : 1);
      return { shape, data };
    });
    out.set(name, blobs);
  }
  return out;
}

function he(data: Float32Array, fanIn: number, normal: () => number): void {
  const sd = Math.sqrt(2 / Math.max(1, fanIn));
  for (let j = 0; j < data.length; j++) data[j] = normal() * sd;
}

/**
 * A file's weights replaced by seeded random ones (ONNX / TF.js models): the learned weights —
 * conv, fc, matmul and transposed-convolution weights (He, biases 0.01), normalisation scales 1
 * and shifts 0 — are drawn again; constants of elementwise layers and constant blobs (input
 * normalisation, GELU's √2, a class token, a position embedding) are kept, since the architecture
 * needs them.
 */
function redrawWeights(graph: Graph, weights: Map<string, ParamBlob[]>, seed: number): Map<string, ParamBlob[]> {
  const normal = gaussian(mulberry32(seed));
  const out = new Map<string, ParamBlob[]>();
  for (const l of graph.layers) {
    const params = weights.get(l.name);
    if (!params) continue;
    const fresh = params.map((p, i): ParamBlob => {
      const data = new Float32Array(p.data.length);
      switch (l.kind) {
        case 'conv':
        case 'fc':
          if (i === 0) he(data, data.length / p.shape[0], normal);
          else data.fill(0.01);
          return { shape: p.shape, data };
        case 'matmul':
          if (i === 0) he(data, p.shape[p.shape.length - 2], normal);
          else data.fill(0.01);
          return { shape: p.shape, data };
        case 'convtranspose':
          if (i === 0) he(data, data.length / p.shape[1], normal);
          else data.fill(0.01);
          return { shape: p.shape, data };
        case 'scale':
        case 'layernorm':
        case 'instancenorm':
          data.fill(i === 0 ? 1 : 0);
          return { shape: p.shape, data };
        case 'batchnorm':
          data.fill(i === 0 ? 0 : 1);
          return { shape: p.shape, data };
        default:
          return p;
      }
    });
    out.set(l.name, fresh);
  }
  return out;
}

/** The model with random weights filled in, or replacing the file's (a copy; the input model is not changed). */
export function withRandomWeights(model: Model, seed: number): Model {
  const weights = model.graph.weights?.size ? redrawWeights(model.graph, model.graph.weights, seed) : randomWeights(model.graph, seed);
  return { ...model, randomWeights: seed, graph: { ...model.graph, weights } };
}
