import type { ParsedCommand } from '../options.ts';
import { UserError } from '../../core/errors.ts';
import { countParams } from '../../graph/params.ts';
import type { Model } from '../../graph/types.ts';
import { loadModel } from '../../import/load.ts';
import { preprocessOption } from '../../graph/preprocess.ts';

export interface InspectBlob {
  name: string;
  /** First layer that writes the blob. */
  layer: string;
  /** Kinds of every layer that writes it, in order: e.g. "conv+relu". */
  type: string;
  shape: number[];
  units: number;
  rf: { size: [number, number]; stride: [number, number]; offset: [number, number] };
}

export interface InspectReport {
  model: string;
  source: string;
  input: { blob: string; shape: number[] };
  blobs: InspectBlob[];
  totals: { blobs: number; units: number; params: number };
}

export function inspectModel(model: Model): InspectReport {
  const { graph } = model;
  const writers = new Map<string, string[]>();
  for (const l of graph.layers) for (const t of l.tops) writers.set(t, [...(writers.get(t) ?? []), l.kind]);
  const blobs = graph.blobs.map((b) => ({
    name: b.name,
    layer: b.layer,
    type: (writers.get(b.name) ?? [b.producer]).join('+'),
    shape: [...b.shape],
    units: b.shape[0],
    rf: { size: [...b.rf.size], stride: [...b.rf.stride], offset: [...b.rf.offset] } as InspectBlob['rf'],
  }));
  return {
    model: model.id,
    source: model.source,
    input: { blob: graph.input.blob, shape: [...graph.input.shape] },
    blobs,
    totals: { blobs: blobs.length, units: blobs.reduce((a, b) => a + b.units, 0), params: countParams(graph) },
  };
}

const pair = (p: [number, number]) => (p[0] === p[1] ? String(p[0]) : `${p[0]}×${p[1]}`);

export function formatInspect(r: InspectReport): string {
  const head = ['blob', 'type', 'shape C×H×W', 'units', 'RF size', 'RF stride'];
  const rows = r.blobs.map((b) => [b.name, b.type, b.shape.join('×'), String(b.units), pair(b.rf.size), pair(b.rf.stride)]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const right = new Set([3, 4, 5]);
  const fmt = (row: string[]) =>
    row
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const lines = [`model ${r.model} (${r.source}), input "${r.input.blob}" ${r.input.shape.join('×')}`, '', fmt(head), fmt(widths.map((w) => '-'.repeat(w)))];
  for (const row of rows) lines.push(fmt(row));
  lines.push('', `${r.totals.blobs} blobs, ${r.totals.units.toLocaleString('en-US')} units, ${r.totals.params.toLocaleString('en-US')} parameters`);
  lines.push('RF: receptive field of one unit in input pixels (fully connected units see the whole image).');
  return lines.join('\n');
}

export async function run({ values }: ParsedCommand<'inspect'>): Promise<void> {
  if (!values.model) throw new UserError('--model is required (a model folder, a .prototxt, or a preset name)');
  const model = await loadModel(values.model, { weights: false, preprocess: await preprocessOption(values.preprocess) });
  const report = inspectModel(model);
  console.log(values.json ? JSON.stringify(report) : formatInspect(report));
}
