/** What the planner needs of a step: the blob names it reads and writes. */
export interface StepLinks { bottoms: string[]; tops: string[] }

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
