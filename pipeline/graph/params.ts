import type { BlobInfo, Graph, Layer } from './types.ts';

/**
 * The parameter blobs each layer kind takes, in Caffe's order and layout:
 * conv [out, in/group, kh, kw] (+ bias [out]); fc [out, C·H·W of its input] (+ bias [out]);
 * scale [C] (+ bias [C]); batchnorm mean [C], variance [C], moving-average factor [1].
 */
export function paramShapes(layer: Layer, bottom: number[] | undefined): number[][] {
  const count = (s: number[]) => s.reduce((a, d) => a * d, 1);
  switch (layer.kind) {
    case 'conv': {
      const w = [layer.numOutput, (bottom?.[0] ?? 0) / layer.group, layer.kernel[0], layer.kernel[1]];
      return layer.biasTerm ? [w, [layer.numOutput]] : [w];
    }
    case 'fc': {
      const w = [layer.numOutput, bottom ? count(bottom) : 0];
      return layer.biasTerm ? [w, [layer.numOutput]] : [w];
    }
    case 'scale':
      return layer.biasTerm ? [[bottom?.[0] ?? 0], [bottom?.[0] ?? 0]] : [[bottom?.[0] ?? 0]];
    case 'batchnorm':
      return [[bottom?.[0] ?? 0], [bottom?.[0] ?? 0], [1]];
    default:
      return [];
  }
}

/** Parameter shapes of every layer of a shaped graph, by layer name (layers without parameters omitted). */
export function graphParamShapes(g: Pick<Graph, 'layers' | 'blobs'>): Map<string, number[][]> {
  const byName = new Map<string, BlobInfo>(g.blobs.map((b) => [b.name, b]));
  const out = new Map<string, number[][]>();
  for (const l of g.layers) {
    const shapes = paramShapes(l, byName.get(l.bottoms[0])?.shape);
    if (shapes.length) out.set(l.name, shapes);
  }
  return out;
}

/**
 * Total number of parameters: with weights loaded, every stored value of every layer (ONNX and
 * TF.js layers of every kind: matmul, layer norm, position embeddings…); without, the Caffe kinds'
 * counts from the shapes (conv, fc, scale, batchnorm).
 */
export function countParams(g: Pick<Graph, 'layers' | 'blobs' | 'weights'>): number {
  let n = 0;
  if (g.weights?.size) {
    for (const params of g.weights.values()) for (const p of params) n += p.data.length;
    return n;
  }
  for (const shapes of graphParamShapes(g).values()) for (const s of shapes) n += s.reduce((a, d) => a * d, 1);
  return n;
}
