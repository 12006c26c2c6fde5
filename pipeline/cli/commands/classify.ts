import type { ParsedCommand } from '../options.ts';
import { UserError } from '../../core/errors.ts';
import { parseBackend } from '../../engine/backend.ts';
import { expandInputs } from '../../io/inputs.ts';
import { loadModel } from '../../import/load.ts';
import { preprocessOption } from '../../graph/preprocess.ts';
import { classBlob, classifyFiles } from '../../stages/classify/stage.ts';
import { formatJson, formatText } from '../../stages/classify/output.ts';

export async function run({ values, positionals }: ParsedCommand<'classify'>): Promise<void> {
  if (!values.model) throw new UserError('--model is required (see deepvis help classify)');
  const top = values.top ?? 5;
  const batch = values.batch ?? 8;
  const workers = values.workers;
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
