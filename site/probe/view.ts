/** Small DOM and data helpers of the probe page. */
import type { Label } from '../../pipeline/graph/types.ts';

/** The element with this id inside the probe (throws if the page lacks it). */
export function $<T extends HTMLElement>(root: HTMLElement, id: string): T {
  const el = root.querySelector<T>(`#${id}`);
  if (!el) throw new Error(`probe page: #${id} is missing`);
  return el;
}

export function setStatus(root: HTMLElement, text: string, error = false): void {
  const el = root.querySelector<HTMLElement>('#probe-status');
  if (!el) return;
  el.textContent = text;
  el.classList.toggle('error', error);
}

/** Blobs worth showing as layers: every blob but the input and pass-through copies (Split, Dropout). */
export function listBlobs(blobs: { name: string; producer: string }[], input: string): string[] {
  return blobs.filter((b) => b.name !== input && b.producer !== 'identity' && b.producer !== 'input').map((b) => b.name);
}

/** The k most probable classes. */
export function topK(probs: Float32Array, k: number, labels: Label[]): { index: number; label: string; prob: number }[] {
  const idx = Array.from(probs.keys())
    .sort((a, b) => probs[b] - probs[a])
    .slice(0, k);
  return idx.map((index) => ({ index, label: labels[index]?.name ?? `class ${index}`, prob: probs[index] }));
}
