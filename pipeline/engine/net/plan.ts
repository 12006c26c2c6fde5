/** What the planner needs of a step: the blob names it reads and writes. */
export interface StepLinks {
  bottoms: string[];
  tops: string[];
}

/**
 * The steps (in execution order) needed to produce the final values of `blobs`. Walking backwards,
 * a step is needed when it writes a blob still wanted; it then stops that blob's earlier versions
 * being wanted and wants its own bottoms. An in-place step (top = bottom, e.g. ReLU) thus keeps
 * its blob wanted, so the step that first wrote it runs too, and the named blob is the value
 * after every in-place layer, as in Caffe.
 */
export function neededSteps<S extends StepLinks>(steps: S[], blobs: string[]): S[] {
  const wanted = new Set(blobs);
  const keep: S[] = [];
  for (let i = steps.length - 1; i >= 0; i--) {
    const s = steps[i];
    if (!s.tops.some((t) => wanted.has(t))) continue;
    keep.push(s);
    for (const t of s.tops) wanted.delete(t);
    for (const b of s.bottoms) wanted.add(b);
  }
  return keep.reverse();
}

/** What channel restriction needs of a step. */
export interface ChannelLinks extends StepLinks {
  /** Computes any subset of its output channels (Convolution without groups, InnerProduct). */
  restrictable?: boolean;
  /** Output channel c depends on input channel c only (ReLU, pooling, Dropout). */
  channelwise?: boolean;
}

/**
 * For each blob asked for with a channel subset, the step that can compute just those channels:
 * walking back from the blob through per-channel steps whose inputs nothing else in the plan
 * reads, to a restrictable step. Blobs without such a chain are absent (computed whole, then cut).
 */
export function restrictedSteps<S extends ChannelLinks>(plan: S[], requested: string[], restricted: string[]): Map<S, string> {
  const out = new Map<S, string>();
  const readers = (blob: string) => plan.filter((s) => s.bottoms.includes(blob));
  for (const blob of restricted) {
    let i = plan.length - 1;
    let cur = blob;
    const chain: S[] = [];
    const below: string[] = []; // blobs passed between chain steps
    let found: S | undefined;
    for (;;) {
      while (i >= 0 && !plan[i].tops.includes(cur)) i--;
      if (i < 0) break;
      const s = plan[i];
      chain.push(s);
      if (s.restrictable && s.tops.length === 1) {
        found = s;
        break;
      }
      if (!s.channelwise || s.bottoms.length !== 1 || s.tops.length !== 1) break;
      const bottom = s.bottoms[0];
      if (bottom !== cur && requested.includes(bottom)) break; // asked for whole
      below.push(bottom);
      cur = bottom;
      i--;
    }
    if (!found || out.has(found)) continue;
    // Everything below the requested blob must feed this chain alone.
    if ([found.tops[0], ...below].every((b) => readers(b).every((r) => chain.includes(r)))) out.set(found, blob);
  }
  return out;
}
