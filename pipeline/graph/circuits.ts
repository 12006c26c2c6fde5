/**
 * Circuits, the graph half: how a unit of one blob is wired to the channels of an earlier blob.
 * A channel of a blob is traced back through per-channel layers (ReLU, pooling, LRN, dropout,
 * batch norm, scale) and concatenations to the convolution or fully connected layer that computes
 * it. When that layer reads the earlier blob directly (per-channel layers only in between), its
 * weights say how strongly each input channel feeds the unit (weight mass Σ|w|); otherwise — a
 * branch of an inception module, a residual sum, any other mixing layer — only the gradient can
 * say (stages/scan/circuits.ts).
 */
import type { ConvLayer, FcLayer, Graph, Layer } from './types.ts';

/** Layers whose output channel c depends on input channel c only. */
const PER_CHANNEL = new Set(['relu', 'pool', 'lrn', 'identity', 'batchnorm', 'scale']);

/** Where a channel of a blob comes from. */
export type ChannelSource =
  /** It is channel `channel` of the blob `blob` reached (the earlier blob asked for). */
  | { kind: 'same'; blob: string; channel: number }
  /** Output channel `channel` of a convolution / fully connected layer. */
  | { kind: 'weights'; layer: ConvLayer | FcLayer; channel: number }
  /** Something else mixes channels (eltwise, tensor ops) or the blob is the input. */
  | { kind: 'mixed' };

/** The index of the last layer before `before` that writes `blob`, or -1. */
function writerOf(graph: Graph, blob: string, before: number): number {
  for (let i = before - 1; i >= 0; i--) if (graph.layers[i].tops.includes(blob)) return i;
  return -1;
}

function channelsOf(graph: Graph, blob: string): number {
  return graph.blobs.find((b) => b.name === blob)?.shape[0] ?? 0;
}

/**
 * Follows channel `channel` of `blob` (its final value) back to its source: the conv/fc layer
 * computing it, or `stop` when that blob is reached first through per-channel layers.
 */
export function traceChannel(graph: Graph, blob: string, channel: number, stop?: string): ChannelSource {
  let b = blob;
  let c = channel;
  let at = graph.layers.length;
  for (;;) {
    if (b === stop) return { kind: 'same', blob: b, channel: c };
    const i = writerOf(graph, b, at);
    if (i < 0) return { kind: 'mixed' };
    const l: Layer = graph.layers[i];
    if (l.kind === 'conv' || l.kind === 'fc') return { kind: 'weights', layer: l, channel: c };
    if (PER_CHANNEL.has(l.kind) && l.bottoms.length === 1) {
      // the value layer i read: the last write of its bottom before it (in-place layers included)
      at = i;
      b = l.bottoms[0];
      continue;
    }
    if (l.kind === 'concat' && l.axis === 1) {
      let offset = 0;
      const next = l.bottoms.find((bottom) => {
        const n = channelsOf(graph, bottom);
        if (c < offset + n) return true;
        offset += n;
        return false;
      });
      if (!next) return { kind: 'mixed' };
      c -= offset;
      b = next;
      at = i;
      continue;
    }
    return { kind: 'mixed' };
  }
}

/**
 * Whether `from` reaches `to` through per-channel layers only (channel c of `to` is channel c of
 * `from`). Channel 0 is traced; equal channel counts rule out a concatenation that adds other
 * blobs' channels on the way (channel 0 would reach `from`, the others not).
 */
export function perChannelPath(graph: Graph, from: string, to: string): boolean {
  if (channelsOf(graph, from) !== channelsOf(graph, to)) return false;
  const s = traceChannel(graph, to, 0, from);
  return s.kind === 'same' && s.blob === from;
}

/** Whether blob `a` is computed before and feeds (directly or not) blob `b`. */
export function feeds(graph: Graph, a: string, b: string): boolean {
  const seen = new Set<string>([b]);
  const stack = [b];
  while (stack.length > 0) {
    const blob = stack.pop()!;
    for (const l of graph.layers) {
      if (!l.tops.includes(blob)) continue;
      for (const bottom of l.bottoms) {
        if (bottom === a) return true;
        if (!seen.has(bottom)) {
          seen.add(bottom);
          stack.push(bottom);
        }
      }
    }
  }
  return false;
}

/**
 * Weight mass Σ|w| from each channel of the layer's input to output channel `out`: a conv's
 * kernel slice (its group's input channels; others 0), a fully connected layer's weights summed
 * over each input channel's positions (Caffe's C·H·W order).
 */
export function weightMass(graph: Graph, layer: ConvLayer | FcLayer, out: number): Float64Array {
  const w = graph.weights?.get(layer.name)?.[0];
  if (!w) throw new Error(`layer ${layer.name} has no weights`);
  const inChannels = channelsOf(graph, layer.bottoms[0]);
  const mass = new Float64Array(inChannels);
  if (layer.kind === 'conv') {
    const [outs, perGroup, kh, kw] = w.shape;
    const k = kh * kw;
    const first = Math.floor(out / (outs / layer.group)) * perGroup;
    for (let j = 0; j < perGroup; j++) {
      let s = 0;
      const base = (out * perGroup + j) * k;
      for (let t = 0; t < k; t++) s += Math.abs(w.data[base + t]);
      mass[first + j] = s;
    }
  } else {
    const width = w.shape[1];
    const per = width / inChannels;
    const base = out * width;
    for (let i = 0; i < width; i++) mass[Math.floor(i / per)] += Math.abs(w.data[base + i]);
  }
  return mass;
}
