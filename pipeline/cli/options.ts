/**
 * The command line in one table: every option once (type, argument, description), every command
 * with its options, summary and usage. The parser (./parse.ts), each command's `--help` and the
 * README's command table (./help.ts; tests/unit/cli-table.test.ts fails when the README drifts)
 * come from here. Nothing here loads TensorFlow.js: commands load on demand.
 */
import { OPTIMIZE_PRESET_NAMES } from '../stages/optimize/presets.ts';
import { OPTIMIZE_DEFAULTS } from '../stages/optimize/defaults.ts';
import { SCAN_DEFAULTS } from '../stages/scan/defaults.ts';
import { BACKEND_CHOICES } from '../engine/backend-choices.ts';
import { ORT_PROVIDERS } from '../engine/ort/providers.ts';
import { GPU_ADAPTERS } from '../engine/gpu-adapter.ts';

export type OptionType = 'string' | 'boolean' | 'int' | 'list' | 'strings';

export interface OptionSpec {
  /** string: one value; int: an integer (≥ min); list: "a,b,c"; strings: repeatable; boolean: a switch. */
  type: OptionType;
  /** The argument's name in help (`--model M`). */
  arg?: string;
  description: string;
  /** Shown in help as "(default …)". */
  default?: string;
  /** Smallest value of an int option (default 0). */
  min?: number;
  /** Older spellings still accepted (without the leading --). */
  aliases?: readonly string[];
}

export const OPTIONS = {
  model: {
    type: 'string',
    arg: 'M',
    description: 'model folder (.prototxt + .caffemodel), .prototxt, .onnx, TF.js model.json, or a preset (bvlc_googlenet, squeezenet_v1.1)',
  },
  images: { type: 'strings', arg: 'X', description: 'image files, folders or glob patterns (repeatable; positional arguments too)' },
  layers: { type: 'list', arg: 'L1,L2', description: 'blob names, comma-separated (see `deepvis inspect`)' },
  units: { type: 'string', arg: 'SPEC', description: 'unit indices of each layer, e.g. 0-99,400 (default: every unit)' },
  data: {
    type: 'string',
    arg: 'DIR',
    description: 'the data folder: gallery content the pipeline writes and the site reads',
    default: '$DEEPVIS_DATA or data',
    aliases: ['out'],
  },
  dist: { type: 'string', arg: 'DIR', description: 'the built site', default: 'dist' },
  base: { type: 'string', arg: '/prefix/', description: 'the sub-path the site is served under', default: '/' },
  backend: { type: 'string', arg: 'B', description: `compute backend: ${BACKEND_CHOICES.join(' | ')}`, default: 'auto' },
  'ort-provider': {
    type: 'string',
    arg: 'P',
    description: `--backend onnxruntime: its execution provider, ${ORT_PROVIDERS.join(' | ')} (cuda needs onnxruntime-node's CUDA binaries)`,
    default: 'cpu',
  },
  'gpu-adapter': {
    type: 'string',
    arg: 'A',
    description: `--backend webgpu: ${GPU_ADAPTERS.join(' | ')}; swiftshader runs WebGPU on the CPU (Debian's chromium package ships it), for tests and trying the path without a GPU`,
    default: 'gpu',
  },
  workers: { type: 'int', arg: 'N', min: 0, description: 'nets in parallel (worker threads; 0 = this thread)', default: 'one per core on CPU backends' },
  preprocess: {
    type: 'string',
    arg: 'P',
    description:
      'ONNX / TF.js models: a preset (pytorch, tf, unit, caffe, raw), a JSON file {"preprocess": {…}}, or "key=value;…" (preset, inputShape, resize, channelOrder, mean, std, scale); overrides the sidecar <model>.deepvis.json',
  },
  'random-weights': {
    type: 'int',
    arg: 'S',
    description: "seeded random weights: fill a prototxt without weights, or replace an ONNX / TF.js file's learned weights",
  },
  batch: { type: 'int', arg: 'N', min: 1, description: 'images per batch (default: 8; on webgpu as many as the device holds)' },
  json: { type: 'boolean', description: 'print one JSON summary object on stdout (progress stays on stderr)' },
  quiet: { type: 'boolean', description: 'no progress output (errors still print)' },
  'cache-dir': {
    type: 'string',
    arg: 'DIR',
    description: 'downloads and scratch files',
    default: '$DEEPVIS_CACHE, else $XDG_CACHE_HOME/deepvis, else ~/.cache/deepvis',
  },
  top: { type: 'int', arg: 'K', min: 1, description: 'how many to keep' },
  // optimize
  presets: { type: 'list', arg: 'P1,P2', description: `${OPTIMIZE_PRESET_NAMES.join(', ')}, or all`, default: OPTIMIZE_DEFAULTS.presets.join(',') },
  seeds: { type: 'int', arg: 'N', min: 1, description: 'random restarts per unit: seeds 0..N-1', default: String(OPTIMIZE_DEFAULTS.seeds.length) },
  steps: { type: 'int', arg: 'N', min: 1, description: "override every preset's step count" },
  objective: {
    type: 'string',
    arg: 'K',
    description: 'center (conv units at the spatial centre) or channel (mean over positions)',
    default: OPTIMIZE_DEFAULTS.objective,
  },
  'literal-lr': { type: 'boolean', description: "the paper's learning rates as they are (default: scaled per layer, see docs/optimize.md)" },
  resume: { type: 'boolean', description: 'skip finished work (the default)' },
  'no-resume': { type: 'boolean', description: 'redo finished images' },
  // scan
  deconv: { type: 'string', arg: 'MODE', description: 'deconv | backprop | guided', default: SCAN_DEFAULTS.mode },
  chunk: { type: 'int', arg: 'N', min: 1, description: 'images between checkpoints', default: String(SCAN_DEFAULTS.chunk) },
  'no-render': { type: 'boolean', description: 'stop after the scan: top-k summary only, no images or unit records' },
  // activations
  input: {
    type: 'string',
    arg: 'FILE',
    description: 'an image, or a preprocessed float32/float64 .npy (N×3×H×W or 3×H×W, NCHW, network channel order, mean subtracted)',
  },
  blobs: { type: 'string', arg: 'LIST', description: 'comma-separated blob names, or "all"' },
  out: { type: 'string', arg: 'DIR', description: 'output folder (created)' },
  // run
  profile: { type: 'string', arg: 'P', description: 'quick (CPU demo, minutes), paper (p3, 4 seeds, every unit), full (every preset)', default: 'quick' },
  config: { type: 'string', arg: 'FILE', description: 'settings file; flags override it', default: './deepvis.config.json when present' },
  shard: {
    type: 'string',
    arg: 'K/N',
    description:
      "do shard K of N's share of the optimize batches and scan chunks (a SLURM array or Kubernetes Indexed Job: auto reads the index and count from the environment); then run --merge once",
  },
  merge: { type: 'boolean', description: 'after every --shard K/N finished: merge the scan, render, write records, build the site' },
  queue: { type: 'string', arg: 'redis://H:P/DB', description: 'a Redis (≥ 6.2) holding the run as BullMQ jobs for `deepvis worker` processes on any machine' },
  forever: { type: 'boolean', description: 'keep waiting for jobs when the queue is empty' },
  'judge-model': {
    type: 'string',
    arg: 'M',
    description: "a second model (folder, file or preset) that classifies the class units' optimised images: the unit page says whether it sees the class",
  },
  // site
  'page-size': { type: 'int', arg: 'N', min: 1, description: 'units per layer page', default: '256' },
  port: { type: 'int', arg: 'N', description: 'port (0 picks a free one)', default: '4321' },
} as const satisfies Record<string, OptionSpec>;

export type OptionName = keyof typeof OPTIONS;

/** A command's use of an option: the option, or the option with a command-specific description/default. */
export type OptionUse = OptionName | { name: OptionName; description?: string; default?: string; required?: boolean; aliases?: readonly string[] };

export interface CommandSpec {
  summary: string;
  /** What follows `deepvis <command>` in the usage line. */
  usage: string;
  /** A paragraph under the usage line. */
  description: string;
  options: readonly OptionUse[];
  /** Positional arguments: their name in help, or absent when none are taken. */
  positionals?: string;
  /** The README's table row: the command as typed and what it does. */
  readme: { call: string; does: string };
}

export const COMMANDS = {
  run: {
    summary: 'model + images in, gallery out: optimize, scan, site',
    usage: 'run --model M --images DIR [options]',
    description:
      'Model and images in, gallery out: optimize → scan (max images + deconv) → site build + search. Every stage resumes: rerunning after a crash, or with more layers, only does the missing work.',
    options: [
      'model',
      { name: 'images', description: 'image folders, files or globs (repeatable; default $DEEPVIS_ASSETS/images/imagenet-sample when present)' },
      'profile',
      { name: 'layers', description: 'blobs (default: every conv/inception/fc output on the main path + class scores)' },
      'data',
      'dist',
      'base',
      'backend',
      'ort-provider',
      'gpu-adapter',
      'workers',
      'preprocess',
      { name: 'seeds', description: 'random restarts per unit', default: "the profile's" },
      { name: 'steps', description: 'steps per optimised image', default: "the profile's" },
      { name: 'chunk', description: 'images per scan checkpoint, and per scan job of a shard or queue' },
      'judge-model',
      'random-weights',
      'shard',
      'merge',
      'queue',
      'config',
      'json',
      'quiet',
      'cache-dir',
    ],
    positionals: 'IMAGES…',
    readme: { call: 'deepvis run --model M --images DIR', does: 'everything below, resumable, then the site' },
  },
  worker: {
    summary: 'take jobs from a run queued with run --queue until none is left',
    usage: 'worker --queue redis://host:port/db [--backend B] [--workers N] [--forever]',
    description:
      'Runs the jobs of the run a queue holds (`deepvis run --queue`), one at a time, writing into the data folder that run names (it must be mounted at the same path here), until the queue is empty. A worker that dies mid-job leaves the job to another worker; every machine must run the same deepvis version.',
    options: [{ name: 'queue', required: true }, { name: 'backend', default: "the run's" }, 'ort-provider', 'gpu-adapter', 'workers', 'forever', 'cache-dir'],
    readme: { call: 'deepvis worker --queue redis://H:P/DB', does: 'one machine of a queued run (docs/cluster.md)' },
  },
  status: {
    summary: "a queued run's jobs per stage: waiting, active, done, failed",
    usage: 'status --queue redis://host:port/db [--json]',
    description: 'The run a queue holds, and per stage how many of its jobs are waiting, active, done or failed; each failed job with its error.',
    options: [
      { name: 'queue', required: true },
      { name: 'json', description: 'print one JSON object instead of the table' },
    ],
    readme: { call: 'deepvis status --queue redis://H:P/DB', does: 'jobs per stage of a queued run, failures with their errors' },
  },
  inspect: {
    summary: 'list the blobs of a model: shapes, unit counts, receptive fields',
    usage: 'inspect --model M [--json]',
    description:
      'Lists every blob of a model: the layer(s) that write it, output shape C×H×W, unit count (channels) and the receptive field of one unit (size and stride in input pixels), then totals. Weights are not needed: a .prototxt alone will do.',
    options: ['model', { name: 'json', description: 'print one JSON object instead of the table' }, 'preprocess', 'cache-dir'],
    readme: { call: 'deepvis inspect --model M [--json]', does: 'blobs, shapes C×H×W, unit counts, receptive field size/stride, totals' },
  },
  classify: {
    summary: 'top-k classes of images',
    usage: 'classify --model M [--top 5] [--json] IMAGES…',
    description:
      "Prints the top-k classes of each image, in input order. The probability is the network's Softmax output, or the softmax of its last blob when the last layer is not a Softmax.",
    options: [
      'model',
      { name: 'top', description: 'classes per image', default: '5' },
      { name: 'json', description: 'one JSON object per line: {"file": …, "top": [{"index": 0, "label": "…", "prob": 0.9}, …]}' },
      'backend',
      'ort-provider',
      'gpu-adapter',
      { name: 'batch', description: 'images per forward pass' },
      'workers',
      'preprocess',
      'quiet',
      'cache-dir',
    ],
    positionals: 'IMAGES…',
    readme: {
      call: 'deepvis classify --model M [--top 5] [--json] IMAGES…',
      does: 'top-k labels; `--json`: one `{"file","top":[{"index","label","prob"}]}` per line',
    },
  },
  activations: {
    summary: 'write the named blobs for one input as .npy',
    usage: 'activations --model M --input FILE --blobs a,b --out DIR',
    description:
      'Runs one input through the network and writes the named blobs as float32 .npy files in Caffe\'s layout: DIR/<blob>.npy, N×C×H×W (N×C for fully connected blobs); "/" in blob names becomes "__".',
    options: [
      'model',
      { name: 'input', required: true },
      { name: 'blobs', required: true },
      { name: 'out', description: 'output folder for the .npy files (created)', required: true },
      'backend',
      'ort-provider',
      'gpu-adapter',
      'preprocess',
      'random-weights',
      'quiet',
      'cache-dir',
    ],
    readme: {
      call: 'deepvis activations --model M --input FILE --blobs a,b --out DIR',
      does: "`DIR/<blob>.npy` (float32, Caffe's N×C×H×W; `/` → `__`) for an image or a preprocessed `.npy`",
    },
  },
  optimize: {
    summary: 'regularized activation maximisation for units',
    usage: 'optimize --model M [--layers L] [--units SPEC] [options]',
    description:
      "Regularized activation maximisation (Yosinski et al. 2015): for each unit, images synthesised by gradient ascent under the paper's priors. Writes <data>/<model>/units/<layer>/<unit>.json and one WebP per (preset, seed) under <data>/<model>/img/; finished images are skipped (resume).",
    options: [
      'model',
      { name: 'layers', description: 'blob names (default: the class-score blob feeding the softmax)' },
      'units',
      'presets',
      'seeds',
      'steps',
      'batch',
      'objective',
      'literal-lr',
      'no-resume',
      'resume',
      'random-weights',
      'data',
      'backend',
      'ort-provider',
      'gpu-adapter',
      'workers',
      'preprocess',
      'json',
      'quiet',
      'cache-dir',
    ],
    readme: {
      call: 'deepvis optimize --model M --layers L --units 0-99,400 --presets p3 --seeds 4 [--steps N]',
      does: 'activation maximisation (docs/optimize.md)',
    },
  },
  scan: {
    summary: 'top-k dataset patches and deconv for units',
    usage: 'scan --model M --images X --layers L1,L2 [options]',
    description:
      "For every unit of the named layers, the top-k images of a dataset (conv units: the image position where the unit is largest, one entry per image), their receptive-field patches and deconv maps, and the unit's top classes. Resumable: rerun the same command after a kill.",
    options: [
      'model',
      'images',
      { name: 'layers', description: 'blobs to track (all their units), see `deepvis inspect`', required: true },
      {
        name: 'units',
        description:
          'e.g. 0-99,400: only these units of each layer get patches, deconv and records (all units are still tracked; default every unit); per layer: "conv5=0-9;fc8=281" (layers not named: every unit)',
      },
      { name: 'top', description: 'entries kept per unit', default: String(SCAN_DEFAULTS.k) },
      'deconv',
      'data',
      'backend',
      'ort-provider',
      'gpu-adapter',
      'workers',
      'preprocess',
      { name: 'batch', description: 'images per forward pass, image copies per deconv pass' },
      'chunk',
      'random-weights',
      'no-render',
      'json',
      'quiet',
      'cache-dir',
    ],
    positionals: 'IMAGES…',
    readme: {
      call: 'deepvis scan --model M --images DIR --layers L [--top 9] [--deconv deconv\\|backprop\\|guided]',
      does: 'max images, patches, deconv, top classes (docs/scan.md)',
    },
  },
  'site build': {
    summary: 'build the static gallery: pages, search index, probe networks',
    usage: 'site build [--data DIR] [--dist DIR] [--base /prefix/]',
    description:
      "The static gallery from the pipeline's content: Astro pages, Pagefind search index, images linked into <dist>/media/. Host <dist> on any static server or CDN; it is replaced only once the new build is ready.",
    options: [
      { name: 'data', aliases: [] },
      { name: 'dist', description: 'output folder', aliases: ['out'] },
      'base',
      'page-size',
      { name: 'json', description: 'print the build report as one JSON object on stdout' },
      'quiet',
      'cache-dir',
    ],
    readme: { call: 'deepvis site build [--data data] [--dist dist] [--base /prefix/]', does: 'the static gallery + search index (docs/site.md)' },
  },
  'site serve': {
    summary: 'preview a built site on 127.0.0.1',
    usage: 'site serve [--dist DIR] [--port N] [--base /prefix/]',
    description: 'Serves a built site on http://127.0.0.1:PORT/<base> until Ctrl-C.',
    options: ['dist', 'port', { name: 'base', description: 'must match the base the site was built with' }],
    readme: { call: 'deepvis site serve [--dist dist] [--base /prefix/]', does: 'preview on 127.0.0.1' },
  },
} as const satisfies Record<string, CommandSpec>;

export type CommandName = keyof typeof COMMANDS;

/** The option uses of a command, each with its merged spec. */
export interface ResolvedOption extends OptionSpec {
  name: OptionName;
  required: boolean;
}

export function commandOptions(cmd: CommandName): ResolvedOption[] {
  return (COMMANDS[cmd].options as readonly OptionUse[]).map((u) => {
    const name = typeof u === 'string' ? u : u.name;
    const base: OptionSpec = OPTIONS[name];
    const o: Exclude<OptionUse, OptionName> = typeof u === 'string' ? { name } : u;
    return {
      ...base,
      name,
      description: o.description ?? base.description,
      default: o.default ?? base.default,
      aliases: o.aliases ?? base.aliases,
      required: o.required ?? false,
    };
  });
}

/** The JS value an option parses to. */
type ValueOf<S extends OptionSpec> = S['type'] extends 'boolean'
  ? boolean
  : S['type'] extends 'int'
    ? number
    : S['type'] extends 'list' | 'strings'
      ? string[]
      : string;

type UseName<U> = U extends OptionName ? U : U extends { name: infer N } ? N : never;

/** The parsed options of a command: every option it takes, undefined when not given. */
export type CommandValues<C extends CommandName> = {
  [K in UseName<(typeof COMMANDS)[C]['options'][number]>]?: ValueOf<(typeof OPTIONS)[K]>;
};

export interface ParsedCommand<C extends CommandName> {
  values: CommandValues<C>;
  positionals: string[];
}
