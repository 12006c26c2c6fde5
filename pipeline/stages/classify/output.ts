import type { Label } from '../../graph/types.ts';

export interface TopClass {
  index: number;
  label: string;
  prob: number;
}

export interface Classification {
  file: string;
  top: TopClass[];
}

/** Label text of a class index: the label's name, or the index when the model has no labels. */
export function labelOf(labels: Label[] | undefined, index: number): string {
  return labels?.[index]?.name ?? String(index);
}

/** One JSON object per line: {"file": …, "top": [{"index": 0, "label": "…", "prob": 0.9}, …]}. */
export function formatJson(c: Classification): string {
  return JSON.stringify({ file: c.file, top: c.top.map((t) => ({ index: t.index, label: t.label, prob: Number(t.prob.toPrecision(6)) })) });
}

/** The file name, then one line per class: rank, probability, index, label. */
export function formatText(c: Classification): string {
  const lines = [c.file];
  c.top.forEach((t, i) => lines.push(`  ${String(i + 1).padStart(2)}. ${(100 * t.prob).toFixed(2).padStart(6)}%  ${String(t.index).padStart(4)}  ${t.label}`));
  return lines.join('\n');
}
