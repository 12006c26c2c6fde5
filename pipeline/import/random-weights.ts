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
 * A freshly drawn parameter `i` of a layer kind: conv, fc, matmul and transposed-convolution
 * weights ~ N(0, 2 / fan_in) (He), their biases 0.01 (so ReLUs start open); normalisation scales 1
 * and shifts 0 (Scale, LayerNorm, InstanceNorm); BatchNorm mean 0, variance 1, factor 1.
 * Undefined for parameters that are not learned (constants of elementwise layers, constant blobs).
 */
function drawParam(kind: string | undefined, shape: number[], i: number, normal: () => number): Float32Array | undefined {
  const data = new Float32Array(shape.reduce((a, d) => a * d, 1));
  const fanIn: Record<string, () => number> = {
    conv: () => data.length / shape[0],
    fc: () => data.length / shape[0],
    matmul: () => shape[shape.length - 2],
    convtranspose: () => data.length / shape[1],
  };
  if (kind && fanIn[kind]) {
    if (i > 0) return data.fill(0.01);
    const sd = Math.sqrt(2 / Math.max(1, fanIn[kind]()));
    for (let j = 0; j < data.length; j++) data[j] = normal() * sd;
    return data;
  }
  if (kind === 'scale' || kind === 'layernorm' || kind === 'instancenorm') return data.fill(i === 0 ? 1 : 0);
  if (kind === 'batchnorm') return data.fill(i === 0 ? 0 : 1);
  return undefined;
}

/**
 * Seeded random weights for an architecture loaded without them (e.g. a prototxt alone, like
 * caffenet-yos here), by the rules of drawParam. Same seed → same weights.
 */
export function randomWeights(graph: Pick<Graph, 'layers' | 'blobs'>, seed: number): Map<string, ParamBlob[]> {
  const normal = gaussian(mulberry32(seed));
  const out = new Map<string, ParamBlob[]>();
  const kinds = new Map(graph.layers.map((l) => [l.name, l.kind]));
  for (const [name, shapes] of graphParamShapes(graph)) {
    const kind = kinds.get(name);
    out.set(
      name,
      shapes.map((shape, i) => ({ shape, data: drawParam(kind, shape, i, normal) ?? new Float32Array(shape.reduce((a, d) => a * d, 1)) })),
    );
  }
  return out;
}

/**
 * A file's weights replaced by seeded random ones (ONNX / TF.js models): the learned ones are
 * drawn again (drawParam); constants of elementwise layers and constant blobs (input
 * normalisation, GELU's √2, a class token, a position embedding) are kept, since the architecture
 * needs them.
 */
function redrawWeights(graph: Graph, weights: Map<string, ParamBlob[]>, seed: number): Map<string, ParamBlob[]> {
  const normal = gaussian(mulberry32(seed));
  const out = new Map<string, ParamBlob[]>();
  for (const l of graph.layers) {
    const params = weights.get(l.name);
    if (params)
      out.set(
        l.name,
        params.map((p, i) => {
          const data = drawParam(l.kind, p.shape, i, normal);
          return data ? { shape: p.shape, data } : p;
        }),
      );
  }
  return out;
}

/** The model with random weights filled in, or replacing the file's (a copy; the input model is not changed). */
export function withRandomWeights(model: Model, seed: number): Model {
  const weights = model.graph.weights?.size ? redrawWeights(model.graph, model.graph.weights, seed) : randomWeights(model.graph, seed);
  return { ...model, randomWeights: seed, graph: { ...model.graph, weights } };
}
