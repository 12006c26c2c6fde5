import type { Model } from '../../graph/types.ts';
import type { CircuitInputs, UnitCircuit } from '../../content/types.ts';
import { circuitPartPath } from '../../content/unit-store.ts';
import { readJsonFile } from '../../content/json-file.ts';
import { feeds, perChannelPath, traceChannel, weightMass } from '../../graph/circuits.ts';
import { writeJsonAtomic } from '../../io/atomic.ts';
import { Progress } from '../../core/progress.ts';
import type { ScanRunner as Runner } from './handler-table.ts';
import type { UnitCircuitResult } from './handlers.ts';
import type { ScanPlan } from './plan.ts';
import type { UnitScanResult } from './records.ts';

/**
 * The circuits stage, after the scan: for every unit of every scanned layer but the first, the
 * units of the previous scanned layer that feed it most (graph/circuits.ts decides how: weights of
 * a direct connection, else gradient × activation over the unit's top images), written as the
 * unit's circuit part. Downstream units are the same lists read the other way (the site does it).
 */
export const CIRCUIT_INPUTS = 16;

/** Per scanned blob: the nearest earlier scanned blob that feeds it (the first has none). */
export function circuitSources(model: Model, plan: ScanPlan): Map<string, string> {
  const out = new Map<string, string>();
  plan.blobs.forEach((b, i) => {
    for (let j = i - 1; j >= 0; j--) {
      if (feeds(model.graph, plan.blobs[j].name, b.name)) {
        out.set(b.name, plan.blobs[j].name);
        return;
      }
    }
  });
  return out;
}

/** The strongest positive entries of `values`, with their share of the positive total. */
export function strongestInputs(values: ArrayLike<number>, blob: string, method: CircuitInputs['method'], images?: number): CircuitInputs {
  let total = 0;
  const order: number[] = [];
  for (let i = 0; i < values.length; i++) {
    if (values[i] > 0) {
      total += values[i];
      order.push(i);
    }
  }
  order.sort((a, b) => values[b] - values[a] || a - b);
  const inputs = order.slice(0, CIRCUIT_INPUTS).map((unit) => ({
    unit,
    value: Number(values[unit].toPrecision(6)),
    share: Number((values[unit] / total).toFixed(4)),
  }));
  return images === undefined ? { blob, method, inputs } : { blob, method, inputs, images };
}

/**
 * What the graph alone says about unit `unit` of `blob` fed from `from`: the whole circuit when
 * it is a direct connection (or the same channel), else the branch's weights and the need for a
 * gradient pass.
 */
export function graphCircuit(model: Model, blob: string, unit: number, from: string): { circuit?: UnitCircuit; branch?: CircuitInputs } {
  const g = model.graph;
  const src = traceChannel(g, blob, unit, from);
  if (src.kind === 'same') return { circuit: { upstream: { blob: from, method: 'same', inputs: [{ unit: src.channel, value: 1, share: 1 }] } } };
  if (src.kind === 'weights') {
    const bottom = src.layer.bottoms[0];
    const mass = weightMass(g, src.layer, src.channel);
    if (bottom === from || perChannelPath(g, from, bottom)) return { circuit: { upstream: strongestInputs(mass, from, 'weights') } };
    return { branch: strongestInputs(mass, bottom, 'weights') };
  }
  return {};
}

export interface CircuitStageOptions {
  plan: ScanPlan;
  model: Model;
  runner: Runner;
  units: UnitScanResult[];
  /** Data root. */
  out: string;
  /** Images per gradient batch. */
  batch: number;
  /** Only the units with index in [from, to) of `units` (a queue job's share). */
  range?: { from: number; to: number };
  quiet?: boolean;
}

/** A circuit part as written: the circuit and the scan it was computed from (a changed scan recomputes it). */
type StoredCircuit = UnitCircuit & { key: string };

export async function runCircuitStage(o: CircuitStageOptions): Promise<{ units: number; gradient: number }> {
  const sources = circuitSources(o.model, o.plan);
  const picked = o.range ? o.units.slice(o.range.from, o.range.to) : o.units;
  const todo: UnitScanResult[] = [];
  for (const u of picked) {
    if (!sources.has(u.blob)) continue;
    const stored = (await readJsonFile(circuitPartPath(o.out, o.plan.modelId, u.blob, u.unit))) as Partial<StoredCircuit> | undefined;
    if (stored?.key !== o.plan.key) todo.push(u);
  }
  const progress = new Progress({ label: 'circuits', total: todo.length, rateUnit: 'units/s', quiet: o.quiet });
  const write = (u: UnitScanResult, c: UnitCircuit) =>
    writeJsonAtomic(circuitPartPath(o.out, o.plan.modelId, u.blob, u.unit), { ...c, key: o.plan.key } satisfies StoredCircuit);
  const window = Math.max(2, o.runner.size * 2);
  const pending: Promise<void>[] = [];
  let gradient = 0;
  let failure: unknown;
  for (const u of todo) {
    if (failure) break;
    const from = sources.get(u.blob)!;
    const { circuit, branch } = graphCircuit(o.model, u.blob, u.unit, from);
    if (circuit) {
      await write(u, circuit);
      progress.tick(1);
      continue;
    }
    gradient++;
    const live = u.sources.filter((_, r) => u.maxImages[r].value > 0);
    const job = (async () => {
      const r: UnitCircuitResult =
        live.length === 0
          ? { sum: new Float64Array(0), images: 0, values: [], errors: [] }
          : await o.runner.run('unitCircuit', {
              blob: u.blob,
              unit: u.unit,
              from,
              files: live.map((s) => o.plan.files[s.image]),
              positions: live.map((s) => s.pos),
              batch: o.batch,
            });
      if (r.errors.length > 0) throw new Error(`circuits: ${u.blob} unit ${u.unit}: an image decoded during the scan but not now: ${r.errors[0]}`);
      const mean = r.sum.map((v) => v / Math.max(1, r.images));
      const upstream = strongestInputs(mean, from, 'gradient', r.images);
      await write(u, branch ? { upstream, branch } : { upstream });
      progress.tick(1);
    })().catch((e: unknown) => {
      failure ??= e;
    });
    pending.push(job);
    if (pending.length >= window) await pending.shift();
  }
  await Promise.all(pending);
  if (failure) throw failure;
  progress.finish();
  return { units: todo.length, gradient };
}
