// The command line as a user meets it: version, help, suggestions for typos, one-line errors,
// option parsing from the one table, and the README's command table generated from it.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandHelp, readmeCommandTable } from '../../pipeline/cli/help.ts';
import { findCommand } from '../../pipeline/cli/main.ts';
import { COMMANDS, commandOptions, OPTIONS, type CommandName } from '../../pipeline/cli/options.ts';
import { parseCommand, parseLayerUnitSpec } from '../../pipeline/cli/parse.ts';
import { closest } from '../../pipeline/cli/suggest.ts';
import { withTable } from '../../scripts/readme-commands.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin', 'dev.mjs');
const cli = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, DEEPVIS_QUIET: '1' } });

describe('deepvis CLI', () => {
  it('--version prints the package version on one line, exit 0', () => {
    const r = cli('--version');
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it("help scan and scan --help print scan's help from the table, exit 0", () => {
    for (const args of [
      ['help', 'scan'],
      ['scan', '--help'],
    ]) {
      const r = cli(...args);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(commandHelp('scan'));
      for (const o of commandOptions('scan')) expect(r.stdout).toContain(`--${o.name}`);
    }
  });

  it('a mistyped command or option is one line with a suggestion, exit 2', () => {
    const a = cli('scna');
    expect(a.status).toBe(2);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(a.stderr).toContain('did you mean scan?');
    const b = cli('scan', '--modle', 'x');
    expect(b.status).toBe(2);
    expect(b.stderr.trim().split('\n')).toHaveLength(1);
    expect(b.stderr).toContain('did you mean --model?');
    const c = cli('site', 'biuld');
    expect(c.status).toBe(2);
    expect(c.stderr).toContain('did you mean site build?');
  });

  it('an option of another command is named as such, not guessed', () => {
    const r = cli('inspect', '--model', 'x', '--seeds', '2');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('inspect has no --seeds');
  });

  it('help loads no TensorFlow.js, sharp or Astro', () => {
    const trace = join(mkdtempSync(join(tmpdir(), 'deepvis-trace-')), 'imports.txt');
    for (const args of [['--help'], ['help', 'run'], ['optimize', '--help'], ['--version']]) {
      execFileSync(process.execPath, ['--import', join(ROOT, 'tests/helpers/trace-imports.mjs'), BIN, ...args], {
        env: { ...process.env, DEEPVIS_TRACE_IMPORTS: trace },
        encoding: 'utf8',
      });
    }
    const loaded = readFileSync(trace, 'utf8').split('\n');
    expect(loaded.some((s) => s.includes('pipeline/cli/main.ts'))).toBe(true); // the trace works
    expect(loaded.filter((s) => /@tensorflow|^sharp$|^astro/.test(s))).toEqual([]);
  });

  it('every command option exists in the table and its help mentions every option', () => {
    for (const name of Object.keys(COMMANDS) as CommandName[]) {
      const help = commandHelp(name);
      for (const o of commandOptions(name)) {
        expect(OPTIONS[o.name]).toBeDefined();
        expect(help).toContain(`--${o.name}`);
      }
    }
  });

  it('the README command table is the one the table generates', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    expect(readme).toContain(readmeCommandTable());
    expect(withTable(readme)).toBe(readme);
  });
});

describe('parseCommand', () => {
  it('types values: ints, lists, repeatable strings, switches, positionals', () => {
    const p = parseCommand('scan', ['--model', 'm', '--layers', 'conv1, pool5', '--top=3', '--images', 'a', '--images', 'b', 'c.jpg', '--no-render']);
    expect(p.values).toEqual({ model: 'm', layers: ['conv1', 'pool5'], top: 3, images: ['a', 'b'], 'no-render': true });
    expect(p.positionals).toEqual(['c.jpg']);
  });

  it('--data everywhere; --out still accepted where it used to name the data folder', () => {
    expect(parseCommand('optimize', ['--out', 'd']).values.data).toBe('d');
    expect(parseCommand('run', ['--data', 'd']).values.data).toBe('d');
    // site build: --out was (and stays) the site folder
    expect(parseCommand('site build', ['--out', 'site']).values).toEqual({ dist: 'site' });
  });

  it('refuses bad values and missing required options with one line', () => {
    expect(() => parseCommand('scan', ['--top', '0'])).toThrow('--top must be an integer ≥ 1, got "0"');
    expect(() => parseCommand('scan', ['--model', 'm'])).toThrow('--layers is required');
    expect(() => parseCommand('optimize', ['--seeds'])).toThrow('--seeds needs a value (N)');
    expect(() => parseCommand('inspect', ['stray'])).toThrow('unexpected argument "stray"');
    expect(() => parseCommand('inspect', ['--json=yes'])).toThrow('--json is a switch');
    expect(() => parseCommand('activations', ['--model', 'm'])).toThrow('--input is required');
  });

  it('finds two-word commands and suggests close words only', () => {
    expect(findCommand(['site', 'build', '--data', 'x'])).toEqual({ name: 'site build', rest: ['--data', 'x'] });
    expect(() => findCommand(['optimise'])).toThrow('did you mean optimize?');
    expect(() => findCommand(['zzz'])).toThrow(/unknown command "zzz" — /);
    expect(closest('modle', ['model', 'images'])).toBe('model');
    expect(closest('xyz', ['model', 'images'])).toBeUndefined();
  });
});

describe('--units for several layers', () => {
  const count = (l: string) => ({ conv5: 256, fc8: 1000 })[l];
  it('a plain list applies to every layer; layer=list names some (the others keep every unit)', () => {
    expect(parseLayerUnitSpec('0-2,7', ['conv5', 'fc8'], count)).toEqual({ conv5: [0, 1, 2, 7], fc8: [0, 1, 2, 7] });
    expect(parseLayerUnitSpec('fc8=281;conv5=3-4', ['conv5', 'fc8'], count)).toEqual({ fc8: [281], conv5: [3, 4] });
    expect(parseLayerUnitSpec('fc8=999', ['conv5', 'fc8'], count)).toEqual({ fc8: [999] });
  });
  it('a layer not scanned or a unit out of range is a one-line error', () => {
    expect(() => parseLayerUnitSpec('fc7=1', ['conv5', 'fc8'], count)).toThrow('--units names "fc7", which is not among --layers (conv5, fc8)');
    expect(() => parseLayerUnitSpec('conv5=300', ['conv5', 'fc8'], count)).toThrow('unit 300 out of range (the layer has 256 units)');
    expect(() => parseLayerUnitSpec('=3', ['conv5'], count)).toThrow('bad --units "=3"');
  });
});
