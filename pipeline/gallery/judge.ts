/**
 * `--judge-model M`: a second network looks at every optimised image of a class unit and says
 * whether the unit's class is among its top 5 — evidence that the image shows the class, not just
 * a pattern that fools the model that made it. One part per image
 * (`units/<layer>/<unit>/judge-<preset>-<seed>.json`, content/unit-store.ts); an image already
 * judged by the same model is skipped. Classes are matched by WordNet synset when both models
 * have them, else by label name.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { judgePartPath, readJudgePart, readOptPart } from '../content/unit-store.ts';
import { writeJsonAtomic } from '../io/atomic.ts';
import type { BackendChoice } from '../engine/backend-choices.ts';
import { createRunner } from '../engine/workers/runner.ts';
import { classLayers } from '../graph/classes.ts';
import type { Label } from '../graph/types.ts';
import { loadModel } from '../import/load.ts';
import { CLASSIFY_HANDLERS } from '../stages/classify/handler-table.ts';
import { classifyFiles } from '../stages/classify/stage.ts';
import type { PreparedRun } from './prepare.ts';

export interface JudgeSummary {
  model: string;
  judged: number;
  hits: number;
  skipped: number;
}

function sameClass(a: Label | undefined, b: Label | undefined): boolean {
  if (!a || !b) return false;
  if (a.synset && b.synset) return a.synset === b.synset;
  return a.name.toLowerCase() === b.name.toLowerCase();
}

export async function judgeImages(run: PreparedRun, spec: string, backend: BackendChoice): Promise<JudgeSummary> {
  const judge = await loadModel(spec);
  if (!judge.labels?.length) throw new UserError(`--judge-model ${spec}: the model has no class labels to judge with`);
  const classes = classLayers(run.model);
  const todo: { file: string; layer: string; unit: number; preset: string; seed: number; want: Label | undefined }[] = [];
  let skipped = 0;
  for (const l of run.selection) {
    if (!classes.has(l.name)) continue;
    for (const unit of l.units)
      for (const preset of run.optimize.presets ?? [])
        for (const seed of run.optimize.seeds ?? []) {
          const o = await readOptPart(run.dataRoot, run.model.id, l.name, unit, preset, seed);
          if (!o || !existsSync(join(run.dataRoot, o.file))) continue;
          const part = judgePartPath(run.dataRoot, run.model.id, l.name, unit, preset, seed);
          const old = await readJudgePart(part);
          if (old?.model === judge.id) {
            skipped++;
            continue;
          }
          todo.push({ file: join(run.dataRoot, o.file), layer: l.name, unit, preset, seed, want: run.model.labels?.[unit] });
        }
  }
  let hits = 0;
  if (todo.length) {
    const runner = await createRunner({ model: judge, backend, workers: run.cfg.workers, handlers: CLASSIFY_HANDLERS });
    try {
      const writes: Promise<void>[] = [];
      let i = 0;
      await classifyFiles({
        files: todo.map((t) => t.file),
        model: judge,
        runner,
        top: 5,
        batch: 8,
        quiet: true,
        onResult: (c) => {
          const t = todo[i++];
          const hit = c.top.some((x) => sameClass(judge.labels![x.index], t.want));
          if (hit) hits++;
          const top5 = c.top.map((x) => ({ index: x.index, label: x.label, prob: Number(x.prob.toPrecision(4)) }));
          writes.push(writeJsonAtomic(judgePartPath(run.dataRoot, run.model.id, t.layer, t.unit, t.preset, t.seed), { model: judge.id, hit, top5 }));
        },
      });
      await Promise.all(writes);
    } finally {
      await runner.close();
    }
  }
  return { model: judge.id, judged: todo.length, hits, skipped };
}
