import { intFlag, parseCommandArgs, parseUnitSpec } from '../parse.ts';
import { UserError } from '../../core/errors.ts';
import { loadModel } from '../../import/load.ts';
import { PREPROCESS_HELP, preprocessOption } from '../../graph/preprocess.ts';
import { withRandomWeights } from '../../import/random-weights.ts';
import { expandInputs } from '../../io/inputs.ts';
import { parseBackend } from '../../engine/backend.ts';
import type { GradMode } from '../../engine/net/types.ts';
import { scan } from '../../stages/scan/stage.ts';

const HELP = `usage: deepvis scan --model M --images DIR|GLOB|FILE… --layers L1,L2 [options]

For every unit of the named layers, the top-k images of a dataset (conv units: the image
position where the unit is largest, one entry per image), their receptive-field patches and
deconv maps, and the unit's top classes. Resumable: rerun the same command after a kill.

options:
  --model M            model folder, .prototxt, or preset name
  --images X           image files, folders or glob patterns (repeatable; positional args too)
  --layers L1,L2       blobs to track (all their units), see \`deepvis inspect\`
  --units SPEC         e.g. 0-99,400: only these units of each layer get patches, deconv and
                       records (all units are still tracked; default every unit)
  --top K              entries kept per unit (default 9)
  --deconv MODE        deconv | backprop | guided (default deconv)
  --out DIR            data root (default data)
  --backend B          auto | tensorflow | webgpu | wasm | cpu (default auto)
  --workers N          nets in parallel (worker threads; 0 = this thread; default one per core)
${PREPROCESS_HELP}
  --batch N            images per forward pass, image copies per deconv pass (default 8)
  --chunk N            images between checkpoints (default 256)
  --random-weights S   fill the model with seeded random weights (a prototxt without weights)
  --no-render          stop after the scan: top-k summary only, no images or unit records`;

const MODES: GradMode[] = ['deconv', 'backprop', 'guided'];

export async function run(argv: string[]): Promise<void> {
  const { values: v, positionals } = parseCommandArgs(
    argv,
    {
      model: { type: 'string' },
      preprocess: { type: 'string' },
      images: { type: 'string', multiple: true },
      layers: { type: 'string' },
      units: { type: 'string' },
      top: { type: 'string' },
      deconv: { type: 'string' },
      out: { type: 'string' },
      backend: { type: 'string' },
      workers: { type: 'string' },
      batch: { type: 'string' },
      chunk: { type: 'string' },
      'random-weights': { type: 'string' },
      'no-render': { type: 'boolean' },
    },
    HELP,
  );
  if (!v.model) throw new UserError('--model is required (see deepvis scan --help)');
  const images = [...(v.images ?? []), ...positionals];
  if (images.length === 0) throw new UserError('--images is required: image files, folders or glob patterns');
  if (!v.layers) throw new UserError('--layers is required: comma-separated blob names (see deepvis inspect)');
  const layers = v.layers.split(',').map((s) => s.trim()).filter(Boolean);
  const k = intFlag(v.top, 'top', 9, 1);
  const mode = (v.deconv ?? 'deconv') as GradMode;
  if (!MODES.includes(mode)) throw new UserError(`--deconv must be one of ${MODES.join(', ')}, got "${v.deconv}"`);
  const out = v.out ?? 'data';
  const backend = parseBackend(v.backend);
  const workers = v.workers === undefined ? undefined : intFlag(v.workers, 'workers', 0, 0);
  const batch = intFlag(v.batch, 'batch', 8, 1);
  const chunk = intFlag(v.chunk, 'chunk', 256, 1);
  const quiet = Boolean(process.env.DEEPVIS_QUIET);

  const seed = v['random-weights'] === undefined ? undefined : intFlag(v['random-weights'], 'random-weights', 0, 0);
  let model = await loadModel(v.model, { weights: seed === undefined, preprocess: await preprocessOption(v.preprocess) });
  if (seed !== undefined) model = withRandomWeights(model, seed);
  else if (!model.graph.weights) throw new UserError(`${v.model}: no .caffemodel weights (pass --random-weights SEED to scan with random ones)`);

  const files = await expandInputs(images);
  const units = v.units === undefined ? undefined : Object.fromEntries(layers.map((name) => {
    const info = model.graph.blobs.find((b) => b.name === name);
    return [name, parseUnitSpec(v.units!, info?.shape[0])];
  }));
  await scan({ model, files, layers, units, k, mode, out, backend, workers, batch, chunk, weightsTag: seed === undefined ? 'file' : `random:${seed}`, render: !v['no-render'], quiet });
}
