import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UserError } from '../core/errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses command options with node:util parseArgs; unknown options and missing values become a
 * UserError (one-line message, exit 2). `--help` prints `help` and exits 0.
 */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, help: string) {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(help);
    process.exit(0);
  }
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UserError((e as Error).message.split('\n')[0]);
  }
}

/** Parses a non-negative integer flag value. */
export function intFlag(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${name} must be an integer ≥ ${min}, got "${value}"`);
  return n;
}

/** Parses a unit list such as `0-99,400` into sorted unique indices (validated against `count` when given). */
export function parseUnitSpec(spec: string, count?: number): number[] {
  const out = new Set<number>();
  for (const part of spec.split(',').map((s) => s.trim()).filter(Boolean)) {
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
