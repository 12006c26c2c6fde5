/**
 * Pre-ReLU view of a blob. Most hidden units are exactly zero on the start image (GoogLeNet
 * inception_4c/output: ~70 % of centre units, ~20 % of whole channels; SqueezeNet fire9/concat:
 * ~80 % and ~55 %), so their gradient is zero and plain ascent never moves (the toolbox reports
 * "grad 0 failure"). When the blob is a ReLU output — directly, or through concat, max-pooling or
 * identity layers, which commute with ReLU — we run a copy of the graph with those final ReLUs
 * turned into identities: the blob then holds pre-activations v, the unit's activation is relu(v)
 * exactly, and v still has a gradient while the unit is off.
 */
import type { Layer, Model } from '../../graph/types.ts';

/** The model with the target blob's final ReLUs (slope 0) turned into identities, or null when the blob is not such a ReLU output. */
export function preReluModel(model: Model, blob: string): Model | null {
  const layers = model.graph.layers;
  const stripped = new Set<number>();
  const chain = new Set<number>();

  const lastWriter = (b: string, before: number): number => {
    for (let i = before - 1; i >= 0; i--) if (layers[i].tops.includes(b)) return i;
    return -1;
  };
  const walk = (b: string, before: number): boolean => {
    const i = lastWriter(b, before);
    if (i < 0) return false;
    const l = layers[i];
    chain.add(i);
    if (l.kind === 'relu') {
      if (l.negativeSlope !== 0) return false;
      stripped.add(i);
      return true;
    }
    if (l.kind === 'concat' && l.axis === 1) return l.bottoms.every((bb) => walk(bb, i));
    if ((l.kind === 'pool' && l.method === 'max') || (l.kind === 'identity' && l.bottoms.length === 1)) return walk(l.bottoms[0], i);
    return false;
  };
  if (!walk(blob, layers.length)) return null;

  // Every reader of a stripped blob up to the target must be on the chain, or it would see pre-activations.
  const last = Math.max(...chain);
  for (const r of stripped) {
    const b = layers[r].tops[0];
    for (let i = r + 1; i <= last; i++) if (layers[i].bottoms.includes(b) && !chain.has(i)) return null;
  }
  const newLayers: Layer[] = layers.map((l, i) => (stripped.has(i) ? { kind: 'identity', name: l.name, bottoms: l.bottoms, tops: l.tops } : l));
  return { ...model, graph: { ...model.graph, layers: newLayers } };
}
