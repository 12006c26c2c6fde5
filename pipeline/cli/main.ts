/**
 * `deepvis <command> [options]`: finds the command in the option table, answers --help and
 * --version from the table alone (nothing heavy is loaded), parses the options, then loads the
 * command's module and runs it. A UserError prints one line and exits 2.
 */
import { resolve } from 'node:path';
import { isUserError, oneLine, UserError } from '../core/errors.ts';
import { version } from '../core/version.ts';
import { gpuAdapter } from '../engine/gpu-adapter.ts';
import { commandHelp, groupHelp, mainHelp } from './help.ts';
import { COMMANDS, type CommandName, type ParsedCommand } from './options.ts';
import { parseCommand } from './parse.ts';
import { didYouMean } from './suggest.ts';

type Handler = (args: ParsedCommand<never>) => Promise<void>;
type Loader = () => Promise<Handler>;

/** Each command's implementation, loaded on demand. */
const LOADERS: Record<CommandName, Loader> = {
  run: async () => (await import('./commands/run.ts')).run as Handler,
  inspect: async () => (await import('./commands/inspect.ts')).run as Handler,
  classify: async () => (await import('./commands/classify.ts')).run as Handler,
  activations: async () => (await import('./commands/activations.ts')).run as Handler,
  optimize: async () => (await import('./commands/optimize.ts')).run as Handler,
  scan: async () => (await import('./commands/scan.ts')).run as Handler,
  worker: async () => (await import('./commands/queue.ts')).worker as Handler,
  status: async () => (await import('./commands/queue.ts')).status as Handler,
  'site build': async () => (await import('./commands/site.ts')).build as Handler,
  'site serve': async () => (await import('./commands/site.ts')).serve as Handler,
};

export { version };

const NAMES = Object.keys(COMMANDS) as CommandName[];
const TOP_WORDS = [...new Set(NAMES.map((n) => n.split(' ')[0])), 'help'];

/** `site build …` → ['site build', rest]; an unknown word is a UserError with a suggestion. */
export function findCommand(argv: readonly string[]): { name: CommandName; rest: string[] } {
  const [first, second, ...more] = argv;
  const two = `${first} ${second}` as CommandName;
  if (second !== undefined && NAMES.includes(two)) return { name: two, rest: more };
  if (NAMES.includes(first as CommandName)) return { name: first as CommandName, rest: argv.slice(1) };
  const subs = NAMES.filter((n) => n.startsWith(`${first} `));
  if (subs.length) {
    const words = subs.map((n) => n.split(' ')[1]);
    if (second === undefined || second.startsWith('-'))
      throw new UserError(`${first} needs a subcommand: ${words.join(' or ')} (see deepvis help ${first} ${words[0]})`);
    throw new UserError(`unknown subcommand "${first} ${second}"${didYouMean(second, words, `${first} `)}`);
  }
  throw new UserError(`unknown command "${first}"${didYouMean(first, TOP_WORDS)} — see deepvis --help`);
}

/** The command being run, for the error prefix ("deepvis scan: …"). */
let current = 'deepvis';

async function dispatch(argv: string[]): Promise<void> {
  const [first] = argv;
  if (!first || first === '--help' || first === '-h') return void console.log(mainHelp(version()));
  if (first === '--version' || first === '-v' || first === 'version') return void console.log(version());
  if (first === 'help') {
    if (argv.length === 1) return void console.log(mainHelp(version()));
    const group = argv.length === 2 ? groupHelp(argv[1]) : undefined;
    return void console.log(group ?? commandHelp(findCommand(argv.slice(1)).name));
  }
  const group = groupHelp(first);
  if (group && (argv[1] === '--help' || argv[1] === '-h' || argv[1] === undefined)) return void console.log(group);
  const { name, rest } = findCommand(argv);
  const dash = rest.indexOf('--');
  const opts = dash < 0 ? rest : rest.slice(0, dash);
  if (opts.includes('--help') || opts.includes('-h')) return void console.log(commandHelp(name));
  current = `deepvis ${name}`;
  const parsed = parseCommand(name, rest);
  // --quiet: the stages and workers read DEEPVIS_QUIET (workers inherit the environment).
  const common = parsed.values as { quiet?: boolean; 'cache-dir'?: string; 'ort-provider'?: string; 'gpu-adapter'?: string };
  // --ort-provider: ONNX Runtime's sessions (engine/ort/runtime.ts) read DEEPVIS_ORT_PROVIDER.
  if (common['ort-provider']) process.env.DEEPVIS_ORT_PROVIDER = common['ort-provider'];
  // --gpu-adapter: the WebGPU start-up (engine/gpu-adapter.ts) reads DEEPVIS_GPU_ADAPTER.
  if (common['gpu-adapter']) {
    process.env.DEEPVIS_GPU_ADAPTER = common['gpu-adapter'];
    gpuAdapter();
  }
  if (common.quiet) process.env.DEEPVIS_QUIET = '1';
  // --cache-dir: the model downloads and scratch folders (core/cache-dir.ts) read DEEPVIS_CACHE.
  if (common['cache-dir']) process.env.DEEPVIS_CACHE = resolve(common['cache-dir']);
  const handler = await LOADERS[name]();
  await handler(parsed as ParsedCommand<never>);
}

export async function main(argv: string[]): Promise<void> {
  try {
    await dispatch(argv);
  } catch (e) {
    const where = current;
    if (isUserError(e)) {
      console.error(`${where}: ${oneLine(e)}`);
      process.exit(2);
    }
    if (e instanceof Error && e.name === 'RunFailedError') {
      console.error(`${where}: ${oneLine(e)}`);
      process.exit(1);
    }
    if (process.env.DEEPVIS_DEBUG) console.error(e);
    console.error(`${where}: internal error: ${oneLine(e)} (set DEEPVIS_DEBUG=1 for the stack trace)`);
    process.exit(1);
  }
}
