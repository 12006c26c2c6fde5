import { UserError } from '../core/errors.ts';
import { COMMANDS, commandOptions, OPTIONS, type CommandName, type ParsedCommand, type ResolvedOption } from './options.ts';
import { didYouMean } from './suggest.ts';

/**
 * Parses a command's arguments against its entry in the option table: `--name value`,
 * `--name=value`, switches, repeatable options, `--` ends the options. Unknown options, missing
 * values, bad integers and missing required options are one-line UserErrors, with a suggestion
 * when an option is mistyped.
 */
export function parseCommand<C extends CommandName>(cmd: C, argv: readonly string[]): ParsedCommand<C> {
  const specs = commandOptions(cmd);
  const byName = new Map<string, ResolvedOption>();
  for (const s of specs) {
    byName.set(s.name, s);
    for (const a of s.aliases ?? []) if (!byName.has(a)) byName.set(a, s);
  }
  const values: Record<string, unknown> = {};
  const positionals: string[] = [];
  const takesPositionals = 'positionals' in COMMANDS[cmd];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--') || arg === '-') {
      if (arg.startsWith('-') && arg !== '-')
        throw new UserError(`unknown option "${arg}"${didYouMean(arg.replace(/^-+/, ''), [...byName.keys()], '--')} (see deepvis help ${cmd})`);
      if (!takesPositionals) throw new UserError(`unexpected argument "${arg}" (see deepvis help ${cmd})`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = byName.get(name);
    if (!spec) {
      const other = name in OPTIONS ? ` (${cmd} has no --${name})` : didYouMean(name, [...byName.keys()], '--');
      throw new UserError(`unknown option --${name}${other}; see deepvis help ${cmd}`);
    }
    if (spec.type === 'boolean') {
      if (eq >= 0) throw new UserError(`--${name} is a switch and takes no value`);
      values[spec.name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= argv.length || (argv[i + 1].startsWith('--') && argv[i + 1].length > 2))
        throw new UserError(`--${name} needs a value${spec.arg ? ` (${spec.arg})` : ''}`);
      value = argv[++i];
    }
    values[spec.name] = convert(spec, name, value, values[spec.name]);
  }
  for (const s of specs) if (s.required && values[s.name] === undefined) throw new UserError(`--${s.name} is required (see deepvis help ${cmd})`);
  return { values: values as ParsedCommand<C>['values'], positionals };
}

function convert(spec: ResolvedOption, given: string, value: string, previous: unknown): unknown {
  switch (spec.type) {
    case 'int':
      return intFlag(value, given, spec.min ?? 0);
    case 'list': {
      const items = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (!items.length) throw new UserError(`--${given} needs at least one name`);
      return items;
    }
    case 'strings':
      return [...((previous as string[] | undefined) ?? []), value];
    default:
      if (value === '') throw new UserError(`--${given} needs a value`);
      return value;
  }
}

/** Parses an integer flag value of at least `min`. */
function intFlag(value: string, name: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

/** Parses a unit list such as `0-99,400` into sorted unique indices (validated against `count` when given). */
export function parseUnitSpec(spec: string, count?: number): number[] {
  const out = new Set<number>();
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new UserError(`bad unit list "${spec}": expected e.g. 0-99,400`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new UserError(`bad unit range "${part}"`);
    for (let i = a; i <= b; i++) {
      if (count !== undefined && i >= count) throw new UserError(`unit ${i} out of range (the layer has ${count} units)`);
      out.add(i);
    }
  }
  return [...out].sort((x, y) => x - y);
}

/**
 * `--units` for several layers: a plain list (`0-99,400`) applies to every layer; `layer=list;…`
 * names layers (the others keep every unit, i.e. are left out of the result).
 */
export function parseLayerUnitSpec(spec: string, layers: string[], countOf: (layer: string) => number | undefined): Record<string, number[]> {
  if (!spec.includes('=')) return Object.fromEntries(layers.map((name) => [name, parseUnitSpec(spec, countOf(name))]));
  const out: Record<string, number[]> = {};
  for (const part of spec
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.lastIndexOf('=');
    const name = part.slice(0, eq).trim();
    if (eq < 0 || !name) throw new UserError(`bad --units "${spec}": expected e.g. conv5=0-9;fc8=281`);
    if (!layers.includes(name)) throw new UserError(`--units names "${name}", which is not among --layers (${layers.join(', ')})`);
    out[name] = parseUnitSpec(part.slice(eq + 1), countOf(name));
  }
  return out;
}
