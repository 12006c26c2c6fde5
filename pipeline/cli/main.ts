import { isUserError, oneLine } from '../core/errors.ts';

/** Each command lives in pipeline/cli/commands/<name>.ts and exports `run(argv: string[]): Promise<void>`. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ run(argv: string[]): Promise<void> }> }> = {
  inspect: { summary: 'list the blobs of a model: shapes, unit counts, receptive fields', load: () => import('./commands/inspect.ts') },
  classify: { summary: 'top-k classes of images', load: () => import('./commands/classify.ts') },
  activations: { summary: 'write the named blobs for one input as .npy', load: () => import('./commands/activations.ts') },
  optimize: { summary: 'regularized activation maximisation for units', load: () => import('./commands/optimize.ts') },
  scan: { summary: 'top-k dataset patches and deconv for units', load: () => import('./commands/scan.ts') },
  site: { summary: 'build or serve the gallery site (site build | site serve)', load: () => import('./commands/site.ts') },
  run: { summary: 'model + images in, gallery out: optimize, scan, site', load: () => import('./commands/run.ts') },
};

function usage(): string {
  const lines = ['usage: deepvis <command> [options]', '', 'commands:'];
  for (const [name, c] of Object.entries(COMMANDS)) lines.push(`  ${name.padEnd(12)} ${c.summary}`);
  lines.push('', 'Run `deepvis <command> --help` for its options.');
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`deepvis: unknown command "${name}" (try: ${Object.keys(COMMANDS).join(', ')})`);
    process.exit(2);
  }
  try {
    const mod = await cmd.load();
    await mod.run(rest);
  } catch (e) {
    if (isUserError(e)) {
      console.error(`deepvis ${name}: ${oneLine(e)}`);
      process.exit(2);
    }
    if (process.env.DEEPVIS_DEBUG) console.error(e);
    console.error(`deepvis ${name}: internal error: ${oneLine(e)} (set DEEPVIS_DEBUG=1 for the stack trace)`);
    process.exit(1);
  }
}
