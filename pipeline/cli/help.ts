/** Help text and the README's command table, generated from the option table (./options.ts). */
import { COMMANDS, commandOptions, type CommandName } from './options.ts';

const WIDTH = 100;

/** Wraps `text` to lines of at most `width` characters, joined by a newline and `indent`. */
export function wrap(text: string, width: number, indent: string): string {
  const lines: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

export function commandHelp(cmd: CommandName): string {
  const c = COMMANDS[cmd];
  const opts = commandOptions(cmd);
  const flags = opts.map((o) => `--${o.name}${o.arg ? ` ${o.arg}` : ''}`);
  const col = Math.min(24, Math.max(...flags.map((f) => f.length)) + 4);
  const lines = [`usage: deepvis ${c.usage}`, '', wrap(c.description, WIDTH, ''), '', 'options:'];
  if ('positionals' in c) {
    const text = 'image files, folders (searched recursively) or glob patterns (quote them: "photos/**/*.jpg")';
    lines.push(`  ${c.positionals}`.padEnd(col) + wrap(text, WIDTH - col, ' '.repeat(col)));
  }
  opts.forEach((o, i) => {
    const extra = [
      o.required ? 'required' : '',
      o.default ? `default ${o.default}` : '',
      o.aliases?.length ? `also ${o.aliases.map((a) => `--${a}`).join(', ')}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    const text = `${o.description}${extra ? ` (${extra})` : ''}`;
    const head = `  ${flags[i]}`;
    const pad = head.length + 2 > col ? `${head}\n${' '.repeat(col)}` : head.padEnd(col);
    lines.push(pad + wrap(text, WIDTH - col, ' '.repeat(col)));
  });
  lines.push('  --help, -h'.padEnd(col) + 'this help');
  return lines.join('\n');
}

/** The help of every subcommand of `word` (e.g. site → site build, site serve), or undefined when it has none. */
export function groupHelp(word: string): string | undefined {
  const subs = (Object.keys(COMMANDS) as CommandName[]).filter((n) => n.startsWith(`${word} `));
  return subs.length ? subs.map(commandHelp).join('\n\n') : undefined;
}

export function mainHelp(version: string): string {
  const names = Object.keys(COMMANDS) as CommandName[];
  const w = Math.max(...names.map((n) => n.length)) + 3;
  return [
    `deepvis ${version} — see what every unit of an image network has learned`,
    '',
    'usage: deepvis <command> [options]',
    '',
    'commands:',
    ...names.map((n) => `  ${n.padEnd(w)}${COMMANDS[n].summary}`),
    '',
    'deepvis help <command> (or <command> --help) shows its options; deepvis --version prints the version.',
  ].join('\n');
}

/** The README's command table (between its `<!-- commands -->` markers). */
export function readmeCommandTable(): string {
  const rows = (Object.keys(COMMANDS) as CommandName[]).map((n) => `| \`${COMMANDS[n].readme.call}\` | ${COMMANDS[n].readme.does} |`);
  return ['| command | does |', '|---|---|', ...rows].join('\n');
}
