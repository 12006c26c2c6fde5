import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readUnitRecord, scanPartPath, unitPartsDir, writeOptPart, writeScanPart, wholeRecordPath } from '../../pipeline/content/unit-store.ts';
import { modelRecord, writeModelRecord } from '../../pipeline/content/model-record.ts';
import { batches, planJobs, optImagePath, type OptJob } from '../../pipeline/stages/optimize/jobs.ts';
import type { OptImage } from '../../pipeline/content/types.ts';
import { toyModel } from '../helpers/optimize-toy.ts';

const tmp = mkdtempSync(join(tmpdir(), 'deepvis-store-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// toy model with a softmax so that fc is the class layer
const model = toyModel();
model.graph.layers.push({ kind: 'softmax', name: 'prob', bottoms: ['fc'], tops: ['prob'] });
model.graph.blobs.push({ name: 'prob', shape: [5], producer: 'softmax', layer: 'prob', rf: { size: [16, 16], stride: [1, 1], offset: [0, 0] } });

const img = (preset: string, seed: number, steps = 10): OptImage => ({
  preset,
  seed,
  file: optImagePath('toy', { layer: 'fc', unit: 1, preset, seed }),
  activation: 1,
  start_activation: 0,
  best_activation: 1,
  final_activation: 1,
  steps,
  argmax_step: null,
  objective: 'center',
});

describe('unit store', () => {
  it('assembles a record from its parts: one file per image and one for the scan, nothing merged in place', async () => {
    await writeModelRecord(tmp, model);
    await Promise.all(Array.from({ length: 20 }, (_, s) => writeOptPart(tmp, 'toy', 'fc', 1, img('p3', s))));
    await writeScanPart(tmp, 'toy', 'fc', 1, { maxImages: [], topClasses: [{ name: 'b', source: 'topk', count: 2 }] });
    expect(readdirSync(unitPartsDir(tmp, 'toy', 'fc', 1))).toHaveLength(21);
    const rec = await readUnitRecord(tmp, 'toy', 'fc', 1);
    expect(rec!.optimized.map((o) => o.seed)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(rec).toMatchObject({ model: 'toy', layer: 'fc', layerSlug: 'fc', unit: 1, label: 'b', synset: 'n00000001', maxImages: [] });
    expect(rec!.topClasses).toHaveLength(1);
  });

  it('labels only class layers, takes the receptive field from model.json, and is absent when nothing was written', async () => {
    const rec = await writeOptPart(tmp, 'toy', 'conv1', 2, img('p1', 0)).then(() => readUnitRecord(tmp, 'toy', 'conv1', 2));
    expect(rec!.label).toBeUndefined();
    expect(rec!.rf).toEqual({ size: [3, 3], stride: [1, 1] });
    expect(await readUnitRecord(tmp, 'toy', 'conv1', 3)).toBeUndefined();
  });

  it('a whole record from an older deepvis is the base its parts complete', async () => {
    const whole = wholeRecordPath(tmp, 'toy', 'pool1', 1);
    mkdirSync(join(whole, '..'), { recursive: true });
    const old = {
      model: 'toy',
      layer: 'pool1',
      layerSlug: 'pool1',
      unit: 1,
      rf: { size: [4, 4], stride: [2, 2] },
      optimized: [{ ...img('p3', 0), wall_ms: 5 }],
      maxImages: [],
      topClasses: [],
    };
    writeFileSync(whole, JSON.stringify(old));
    await writeOptPart(tmp, 'toy', 'pool1', 1, img('p3', 1));
    const rec = await readUnitRecord(tmp, 'toy', 'pool1', 1);
    expect(rec!.optimized.map((o) => [o.seed, o.wall_ms])).toEqual([
      [0, 5],
      [1, undefined],
    ]);
  });

  it('a corrupt part is a one-line error naming the file', async () => {
    const p = scanPartPath(tmp, 'toy', 'pool1', 0);
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, '{"trunc');
    await expect(readUnitRecord(tmp, 'toy', 'pool1', 0)).rejects.toThrow(/pool1\/0\/scan\.json: invalid JSON/);
  });
});

describe('model record', () => {
  it('lists every blob but the input, with class layers flagged', async () => {
    const rec = modelRecord(model);
    expect(rec.layers.map((l) => [l.name, l.units, l.classLayer])).toEqual([
      ['conv1', 4, false],
      ['pool1', 4, false],
      ['fc', 5, true],
      ['prob', 5, true],
    ]);
    expect(rec.labels).toHaveLength(5);
    expect(await writeModelRecord(join(tmp, 'fresh'), model)).toBe(true);
    expect(await writeModelRecord(join(tmp, 'fresh'), model)).toBe(false); // unchanged: not rewritten
  });
});

describe('jobs', () => {
  it('batches group one layer and preset, in order, at most `size` each', () => {
    const jobs: OptJob[] = [];
    for (const preset of ['p3', 'fourier']) for (const unit of [0, 1, 2]) for (const seed of [0, 1]) jobs.push({ layer: 'fc', unit, preset, seed });
    const b = batches(jobs, 4);
    expect(b.map((x) => x.length)).toEqual([4, 2, 4, 2]);
    for (const x of b) expect(new Set(x.map((j) => j.preset)).size).toBe(1);
  });

  it('fewer jobs than a batch per worker are split so that every worker gets some', () => {
    const jobs: OptJob[] = [0, 1, 2, 3, 4].map((unit) => ({ layer: 'fc', unit, preset: 'p3', seed: 0 }));
    expect(batches(jobs, 8, 2).map((x) => x.length)).toEqual([3, 2]);
    expect(batches(jobs, 8, 1).map((x) => x.length)).toEqual([5]);
    expect(batches(jobs, 2, 2).map((x) => x.length)).toEqual([2, 2, 1]); // already enough batches
  });

  it('a finished image counts only with the same settings and an existing file', async () => {
    const settings = { steps: 10, objective: 'center' as const, lrMode: 'calibrated' as const };
    const plan = (s = settings) => planJobs(tmp, 'toy', [{ name: 'fc', units: [1] }], ['p3'], [0, 1], () => s, true);
    for (const seed of [0, 1]) await writeOptPart(tmp, 'toy', 'fc', 1, img('p3', seed));
    expect((await plan()).todo).toHaveLength(2); // parts exist but the files do not
    const f = join(tmp, optImagePath('toy', { layer: 'fc', unit: 1, preset: 'p3', seed: 0 }));
    mkdirSync(join(f, '..'), { recursive: true });
    writeFileSync(f, 'x');
    expect((await plan()).todo.map((j) => j.seed)).toEqual([1]);
    expect((await plan({ ...settings, steps: 20 })).todo).toHaveLength(2);
    expect((await plan({ ...settings, lrMode: 'literal' as never })).todo).toHaveLength(2);
  });
});
