import type { ParsedCommand } from '../options.ts';
import { parseLayerUnitSpec } from '../parse.ts';
import { resolveDataRoot } from '../../content/data-root.ts';
import { UserError } from '../../core/errors.ts';
import { loadModel } from '../../import/load.ts';
import { preprocessOption } from '../../graph/preprocess.ts';
import { withRandomWeights } from '../../import/random-weights.ts';
import { expandInputs } from '../../io/inputs.ts';
import { parseBackend } from '../../engine/backend.ts';
import type { GradMode } from '../../engine/net/types.ts';
import { scan } from '../../stages/scan/stage.ts';

const MODES: GradMode[] = ['deconv', 'backprop', 'guided'];

export async function run({ values: v, positionals }: ParsedCommand<'scan'>): Promise<void> {
  if (!v.model) throw new UserError('--model is required (see deepvis scan --help)');
  const images = [...(v.images ?? []), ...positionals];
  if (images.length === 0) throw new UserError('--images is required: image files, folders or glob patterns');
  const layers = v.layers ?? [];
  const mode = v.deconv as GradMode | undefined;
  if (mode !== undefined && !MODES.includes(mode)) throw new UserError(`--deconv must be one of ${MODES.join(', ')}, got "${v.deconv}"`);
  const out = resolveDataRoot(v.data);
  const backend = parseBackend(v.backend);
  const quiet = Boolean(process.env.DEEPVIS_QUIET);

  const seed = v['random-weights'];
  let model = await loadModel(v.model, { weights: seed === undefined, preprocess: await preprocessOption(v.preprocess) });
  if (seed !== undefined) model = withRandomWeights(model, seed);
  else if (!model.graph.weights) throw new UserError(`${v.model}: no .caffemodel weights (pass --random-weights SEED to scan with random ones)`);

  const files = await expandInputs(images);
  const units = v.units === undefined ? undefined : parseLayerUnitSpec(v.units, layers, (name) => model.graph.blobs.find((b) => b.name === name)?.shape[0]);
  const result = await scan({
    model,
    files,
    layers,
    units,
    k: v.top,
    mode,
    out,
    backend,
    workers: v.workers,
    batch: v.batch,
    chunk: v.chunk,
    weightsTag: seed === undefined ? 'file' : `random:${seed}`,
    render: !v['no-render'],
    quiet,
  });
  if (v.json) console.log(JSON.stringify(result));
}
