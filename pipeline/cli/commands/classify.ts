import { fileURLToPath } from 'node:url';
import { intFlag, parseCommandArgs } from '../parse.ts';
import { UserError } from '../../core/errors.ts';
import { parseBackend } from '../../engine/backend.ts';
import { expandInputs } from '../../io/inputs.ts';
import { loadModel } from '../../import/load.ts';
import { PREPROCESS_HELP, preprocessOption } from '../../graph/preprocess.ts';
import { classBlob, classifyFiles } from '../../stages/classify/stage.ts';
import { formatJson, formatText } from '../../stages/classify/output.ts';

const HELP = `usage: deepvis classify --model M [--top 5] [--json] [--backend B] [--batch N] [--workers N] IMAGES…

Prints the top-k classes of each image, in input order.

  IMAGES         image files, folders (searched recursively for .jpg .jpeg .png .webp .gif .tif
                 .tiff .avif .bmp) or glob patterns (quote them: "photos/**/*.jpg")
  --model M      model folder, .prototxt + .caffemodel, or a preset (bvlc_googlenet, squeezenet_v1.1)
  --top K        classes per image (default 5)
  --json         one JSON object per line: {"file": …, "top": [{"index": 0, "label": "…", "prob": 0.9}, …]}
  --backend B    auto | tensorflow | webgpu | wasm | cpu (default auto)
  --batch N      images per forward pass (default 8)
  --workers N    network workers (default: one per CPU core, as the pool decides)
${PREPROCESS_HELP}

The probability is the network's Softmax output, or the softmax of its last blob when the last
layer is not a Softmax.`;


export async function run(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      model: { type: 'string' },
      preprocess: { type: 'string' },
      top: { type: 'string' },
      json: { type: 'boolean' },
      backend: { type: 'string' },
      batch: { type: 'string' },
      workers: { type: 'string' },
    },
    HELP,
  );
  if (!values.model) throw new UserError('--model is required (see --help)');
  const top = intFlag(values.top, 'top', 5, 1);
  const batch = intFlag(values.batch, 'batch', 8, 1);
  const workers = values.workers === undefined ? undefined : intFlag(values.workers, 'workers', 1, 1);
  const backend = parseBackend(values.backend);
  const files = await expandInputs(positionals);
  const model = await loadModel(values.model, { preprocess: await preprocessOption(values.preprocess) });
  classBlob(model); // a model without a class vector fails before any worker starts

  const { createRunner } = await import('../../engine/workers/runner.ts');
  const { CLASSIFY_HANDLERS } = await import('../../stages/classify/handler-table.ts');
  const pool = await createRunner({ model, backend, workers, handlers: CLASSIFY_HANDLERS });
  const format = values.json ? formatJson : formatText;
  // `deepvis classify … | head`: a closed pipe ends the run quietly, as for other command-line tools.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  try {
    await classifyFiles({
      files,
      model,
      runner: pool,
      top,
      batch,
      onResult: (c) => process.stdout.write(format(c) + '\n'),
    });
  } finally {
    await pool.close();
  }
}
