import { resolve } from 'node:path';
import { intFlag, parseCommandArgs, parseUnitSpec } from '../parse.ts';
import { parseBackend } from '../../engine/backend.ts';
import { classScoreBlob } from '../../graph/classes.ts';
import { UserError } from '../../core/errors.ts';
import type { Model } from '../../graph/types.ts';
import { loadModel } from '../../import/load.ts';
import { PREPROCESS_HELP, preprocessOption } from '../../graph/preprocess.ts';
import { withRandomWeights } from '../../import/random-weights.ts';
import type { ObjectiveKind } from '../../stages/optimize/objectives.ts';
import { OPTIMIZE_PRESET_NAMES, OPTIMIZE_PRESETS } from '../../stages/optimize/presets.ts';
import { optimize } from '../../stages/optimize/stage.ts';

const HELP = `usage: deepvis optimize --model M [options]

Regularized activation maximisation (Yosinski et al. 2015): for each unit, images synthesised by
gradient ascent under the paper's priors. Writes <out>/<model>/units/<layer>/<unit>.json and one
WebP per (preset, seed) under <out>/<model>/img/; finished images are skipped (resume).

options:
  --model M          model folder, .prototxt, or preset name (bvlc_googlenet, squeezenet_v1.1)
  --layers L1,L2     blob names (default: the class-score blob feeding the softmax)
  --units SPEC       e.g. 0-99,400 (default: every unit of each layer)
  --presets P1,P2    ${OPTIMIZE_PRESET_NAMES.join(', ')}, or all (default: p3)
  --seeds N          random restarts per unit: seeds 0..N-1 (default 4)
  --steps N          override every preset's step count
  --batch N          images per batch (default 8)
  --objective K      center (conv units at the spatial centre, default) or channel (mean over positions)
  --literal-lr       the paper's learning rates as they are (default: scaled per layer, see docs/optimize.md)
  --no-resume        redo finished images
  --random-weights S fill the model with seeded random weights (a prototxt without weights)
  --out DIR          data root (default data)
  --backend B        auto, wasm, webgpu, tensorflow, cpu (default auto)
  --workers N        worker threads, each with its own net (default: one per core; 0 = this thread)
${PREPROCESS_HELP}`;

export async function run(argv: string[]): Promise<void> {
  const { values: v, positionals } = parseCommandArgs(
    argv,
    {
      model: { type: 'string' },
      preprocess: { type: 'string' },
      layers: { type: 'string' },
      units: { type: 'string' },
      presets: { type: 'string' },
      seeds: { type: 'string' },
      steps: { type: 'string' },
      batch: { type: 'string' },
      objective: { type: 'string' },
      'literal-lr': { type: 'boolean' },
      resume: { type: 'boolean' },
      'no-resume': { type: 'boolean' },
      'random-weights': { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
      workers: { type: 'string' },
    },
    HELP,
  );
  if (positionals.length) throw new UserError(`unexpected argument "${positionals[0]}" (see deepvis optimize --help)`);
  if (!v.model) throw new UserError('--model is required (a model folder, .prototxt, or preset name)');
  const objective = (v.objective ?? 'center') as ObjectiveKind;
  if (objective !== 'center' && objective !== 'channel') throw new UserError(`--objective must be center or channel, got "${v.objective}"`);
  const presets = !v.presets ? ['p3'] : v.presets === 'all' ? OPTIMIZE_PRESET_NAMES : v.presets.split(',').map((s) => s.trim()).filter(Boolean);
  for (const p of presets) if (!OPTIMIZE_PRESETS[p]) throw new UserError(`unknown preset "${p}" (choose from ${OPTIMIZE_PRESET_NAMES.join(', ')}, or all)`);
  const seeds = intFlag(v.seeds, 'seeds', 4, 1);
  const steps = v.steps === undefined ? undefined : intFlag(v.steps, 'steps', 0, 1);
  const batch = intFlag(v.batch, 'batch', 8, 1);
  const workers = v.workers === undefined ? undefined : intFlag(v.workers, 'workers', 0, 0);
  const backend = parseBackend(v.backend);
  if (v.resume && v['no-resume']) throw new UserError('--resume and --no-resume contradict each other');

  const seed = v['random-weights'] === undefined ? undefined : intFlag(v['random-weights'], 'random-weights', 0, 0);
  let model = await loadModel(v.model, { weights: seed === undefined, preprocess: await preprocessOption(v.preprocess) });
  if (seed !== undefined) model = withRandomWeights(model, seed);
  else if (!model.graph.weights) throw new UserError(`${v.model}: no .caffemodel weights (pass --random-weights SEED to optimize with random ones)`);
  const names = v.layers ? v.layers.split(',').map((s) => s.trim()).filter(Boolean) : [classScoreBlob(model)];
  const layers = names.map((name) => {
    const info = model.graph.blobs.find((b) => b.name === name);
    if (!info) throw new UserError(`model ${model.id} has no blob "${name}" (see deepvis inspect --model ${v.model})`);
    if (name === model.graph.input.blob) throw new UserError(`"${name}" is the input blob; pick a layer`);
    const count = info.shape[0];
    const units = v.units ? parseUnitSpec(v.units, count) : Array.from({ length: count }, (_, i) => i);
    return { name, units };
  });

  const summary = await optimize(model, {
    dataRoot: resolve(v.out ?? 'data'),
    layers,
    presets,
    seeds: Array.from({ length: seeds }, (_, i) => i),
    steps,
    batch,
    objective,
    lrMode: v['literal-lr'] ? 'literal' : 'calibrated',
    resume: !v['no-resume'],
    backend,
    workers,
  });
  if (summary.done === 0) console.error(`optimize: nothing to do (${summary.total} images already done; --no-resume redoes them)`);
}
