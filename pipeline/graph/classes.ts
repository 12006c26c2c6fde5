/**
 * Which blobs of a graph are the output classes. Every stage asks this (scan's correlations,
 * optimize's default layer, classify's scores, the content's labels): answered here, once.
 */
import type { Layer, Model } from './types.ts';

/** Channel-preserving layer kinds: a class blob seen through them is still per-class. */
const PRESERVES_CHANNELS = new Set(['pool', 'relu', 'identity', 'flatten', 'softmax', 'scale', 'batchnorm']);

/** The network's last Softmax layer, if any. */
export function lastSoftmax(model: Model): Layer | undefined {
  const layers = model.graph.layers;
  for (let i = layers.length - 1; i >= 0; i--) if (layers[i].kind === 'softmax') return layers[i];
  return undefined;
}

/** The class probabilities: the top of the last Softmax, or null. */
export function findProbBlob(model: Model): string | null {
  return lastSoftmax(model)?.tops[0] ?? null;
}

/**
 * Blobs whose channel i is class i: the Softmax's input, and going back through channel-preserving
 * layers, up to and including the first channel-mixing one (GoogLeNet: loss3/classifier;
 * SqueezeNet: pool10 and conv10).
 */
export function findClassBlobs(model: Model): Set<string> {
  const out = new Set<string>();
  const layers = model.graph.layers;
  const soft = lastSoftmax(model);
  if (!soft) return out;
  let blob = soft.bottoms[0];
  const classes = model.graph.blobs.find((b) => b.name === blob)?.shape[0];
  for (let guard = 0; guard < layers.length; guard++) {
    const info = model.graph.blobs.find((b) => b.name === blob);
    if (!info || info.shape[0] !== classes) break;
    out.add(blob);
    // The layer that first produced this blob (in-place layers keep the name).
    const producer = layers.find((l) => l.name === info.layer);
    if (!producer || !PRESERVES_CHANNELS.has(producer.kind) || producer.bottoms.length !== 1) break;
    blob = producer.bottoms[0];
  }
  return out;
}

/** The class blobs plus the Softmax output: every blob whose units are labelled by class. */
export function classLayers(model: Model): Set<string> {
  const out = findClassBlobs(model);
  const soft = lastSoftmax(model);
  if (soft && out.size) out.add(soft.tops[0]);
  return out;
}

/** The class-score blob (what the last Softmax reads), else the last class blob, else the last blob. */
export function classScoreBlob(model: Model): string {
  const soft = lastSoftmax(model);
  if (soft) return soft.bottoms[0];
  const classes = [...classLayers(model)];
  return classes[classes.length - 1] ?? model.graph.blobs[model.graph.blobs.length - 1].name;
}

/**
 * The model's own penultimate features: the input of its classifier (the channel-mixing layer that
 * makes the class scores: GoogLeNet pool5/7x7_s1, SqueezeNet fire9/concat); undefined without classes.
 */
export function penultimateBlob(model: Model): string | undefined {
  const classes = findClassBlobs(model);
  const first = model.graph.blobs.find((b) => classes.has(b.name));
  const producer = first && model.graph.layers.find((l) => l.name === first.layer);
  return producer?.bottoms[0];
}
