import { resolveDataRoot } from '../../content/data-root.ts';
import type { ParsedCommand } from '../options.ts';
import { parseUnitSpec } from '../parse.ts';
import { parseBackend } from '../../engine/backend.ts';
import { findBlob, layerUnits } from '../../graph/blobs.ts';
import { classScoreBlob } from '../../graph/classes.ts';
import { UserError } from '../../core/errors.ts';
import { loadModel } from '../../import/load.ts';
import { preprocessOption } from '../../graph/preprocess.ts';
import { withRandomWeights } from '../../import/random-weights.ts';
import type { ObjectiveKind } from '../../stages/optimize/objectives.ts';
import { OPTIMIZE_PRESET_NAMES, OPTIMIZE_PRESETS } from '../../stages/optimize/presets.ts';
import { optimize } from '../../stages/optimize/stage.ts';

export async function run({ values: v }: ParsedCommand<'optimize'>): Promise<void> {
  if (!v.model) throw new UserError('--model is required (a model folder, .prototxt, or preset name)');
  const objective = (v.objective ?? 'center') as ObjectiveKind;
  if (objective !== 'center' && objective !== 'channel') throw new UserError(`--objective must be center or channel, got "${v.objective}"`);
  const presets = v.presets?.length === 1 && v.presets[0] === 'all' ? OPTIMIZE_PRESET_NAMES : v.presets;
  for (const p of presets ?? [])
    if (!OPTIMIZE_PRESETS[p]) throw new UserError(`unknown preset "${p}" (choose from ${OPTIMIZE_PRESET_NAMES.join(', ')}, or all)`);
  const backend = parseBackend(v.backend);
  if (v.resume && v['no-resume']) throw new UserError('--resume and --no-resume contradict each other');

  const seed = v['random-weights'];
  let model = await loadModel(v.model, { weights: seed === undefined, preprocess: await preprocessOption(v.preprocess) });
  if (seed !== undefined) model = withRandomWeights(model, seed);
  else if (!model.graph.weights) throw new UserError(`${v.model}: no .caffemodel weights (pass --random-weights SEED to optimize with random ones)`);
  const names = v.layers ?? [classScoreBlob(model)];
  const layers = names.map((name) => layerUnits(model, name, v.units ? parseUnitSpec(v.units, findBlob(model, name).shape[0]) : undefined));

  const summary = await optimize(model, {
    dataRoot: resolveDataRoot(v.data),
    layers,
    presets,
    seeds: v.seeds === undefined ? undefined : Array.from({ length: v.seeds }, (_, i) => i),
    steps: v.steps,
    batch: v.batch,
    objective,
    lrMode: v['literal-lr'] ? 'literal' : 'calibrated',
    resume: !v['no-resume'],
    backend,
    workers: v.workers,
  });
  if (v.json) console.log(JSON.stringify(summary));
  else if (summary.done === 0) console.error(`optimize: nothing to do (${summary.total} images already done; --no-resume redoes them)`);
}
