import type { Layer, Model } from '../graph/types.ts';
import { findClassBlobs } from '../graph/classes.ts';

/**
 * The default layers of a gallery: every conv / inception (concat) / fc output on the network's
 * main path — blobs every input-to-output path passes through — except 1×1 "reduce" convolutions
 * that only feed another convolution (GoogLeNet conv2/3x3_reduce, SqueezeNet's squeeze layers),
 * plus the class-score blob; for today's networks also the block outputs — residual sums on the
 * main path (after the ReLU that follows them, in ResNets) and the patch-grid views of a
 * transformer's token blobs (`<blob>/grid`). CaffeNet: conv1–conv5, fc6–fc8; GoogLeNet:
 * conv1/7x7_s2, conv2/3x3, the nine inception outputs and loss3/classifier (6,744 units).
 */
export function defaultLayers(model: Model): string[] {
  const { graph } = model;
  const producers = new Map<string, Layer>();
  const consumers = new Map<string, Layer[]>();
  for (const l of graph.layers) {
    for (const t of l.tops) if (!l.bottoms.includes(t)) producers.set(t, l);
    // A token grid view is a side view of a blob, not a branch of the network.
    if (l.kind === 'tokengrid') continue;
    for (const b of l.bottoms) if (!l.tops.includes(b)) consumers.set(b, [...(consumers.get(b) ?? []), l]);
  }
  const onMainPath = mainPath(model, consumers);
  const classBlobs = findClassBlobs(model);
  const out: string[] = [];
  for (const info of graph.blobs) {
    const p = producers.get(info.name);
    if (!p) continue;
    if (p.kind === 'tokengrid' && onMainPath.has(p.bottoms[0])) out.push(info.name);
    if (info.name === graph.input.blob || !onMainPath.has(info.name)) continue;
    const isClass = classBlobs.has(info.name);
    if (p.kind === 'conv' && isReduce(p, consumers.get(info.name) ?? []) && !isClass) continue;
    if (p.kind === 'conv' || p.kind === 'fc' || p.kind === 'concat' || isClass) out.push(info.name);
    else if (isResidual(p) && info.shape.length === 3) out.push(blockOutput(info.name, consumers, onMainPath));
  }
  // In network order: a token grid view where its token blob is.
  const order = new Map(graph.blobs.map((b, i) => [b.name, i]));
  const at = (blob: string) => {
    const p = producers.get(blob);
    return order.get(p?.kind === 'tokengrid' ? p.bottoms[0] : blob) ?? 0;
  };
  return [...new Set(out)].sort((a, b) => at(a) - at(b));
}

/** A residual merge (ResNet, MobileNet, ConvNeXt blocks): the sum of two blobs. */
function isResidual(l: Layer): boolean {
  return (l.kind === 'eltwise' && l.op === 'sum') || (l.kind === 'binary' && l.op === 'add' && l.constant === 'none');
}

/** A block's output: the merge, or the activation right after it (ResNet's ReLU after the Add). */
function blockOutput(blob: string, consumers: Map<string, Layer[]>, onMainPath: Set<string>): string {
  const next = consumers.get(blob) ?? [];
  const only = next.length === 1 ? next[0] : undefined;
  const elementwise = only && (only.kind === 'relu' || only.kind === 'activation' || only.kind === 'clip');
  return elementwise && onMainPath.has(only.tops[0]) ? only.tops[0] : blob;
}

function isReduce(conv: Layer & { kind: 'conv' }, next: Layer[]): boolean {
  return conv.kernel[0] === 1 && conv.kernel[1] === 1 && next.length > 0 && next.every((l) => l.kind === 'conv');
}

/**
 * Blobs that dominate the output: counted by walking the graph in order and tracking how many
 * branches are "open" — a blob is on the main path when it is the only live blob at that point.
 */
function mainPath(model: Model, consumers: Map<string, Layer[]>): Set<string> {
  const { graph } = model;
  const remaining = new Map<string, number>();
  for (const [b, ls] of consumers) remaining.set(b, ls.length);
  const live = new Set<string>([graph.input.blob]);
  const out = new Set<string>([graph.input.blob]);
  for (const l of graph.layers) {
    if (l.kind === 'tokengrid') continue;
    for (const b of l.bottoms) {
      if (l.tops.includes(b)) continue;
      const n = (remaining.get(b) ?? 1) - 1;
      remaining.set(b, n);
      if (n <= 0) live.delete(b);
    }
    for (const t of l.tops) if ((consumers.get(t)?.length ?? 0) > 0 || !l.bottoms.includes(t)) live.add(t);
    // A blob nobody reads (an output) stays live; the main path is where one blob carries everything.
    const open = [...live].filter((b) => (remaining.get(b) ?? 0) > 0 || !consumers.has(b));
    if (open.length === 1) out.add(open[0]);
  }
  return out;
}
