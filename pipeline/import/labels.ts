import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { Label } from '../graph/types.ts';

/**
 * Class labels from a model folder: `synset_words.txt` (`n01440764 tench, Tinca tinca` → synset +
 * name), else the one `*labels*.txt` (one name per line). Output index = line number (from 0);
 * trailing blank lines are ignored. Several `*labels*.txt` and no synset_words.txt is an error.
 */
export async function findLabelsFile(dir: string, files: string[]): Promise<string | undefined> {
  if (files.includes('synset_words.txt')) return join(dir, 'synset_words.txt');
  const cands = files.filter((f) => /labels.*\.txt$/i.test(f)).sort();
  if (cands.length > 1) throw new UserError(`${dir}: several labels files (${cands.join(', ')}); keep one, or add synset_words.txt`);
  return cands.length ? join(dir, cands[0]) : undefined;
}

export async function readLabels(path: string): Promise<Label[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  while (lines.length && lines[lines.length - 1].trim() === '') lines.pop();
  return lines.map((raw, index) => {
    const line = raw.trim();
    if (!line) throw new UserError(`${path}:${index + 1}: empty label line`);
    const m = /^(n\d{8})\s+(.*)$/.exec(line);
    return m ? { index, synset: m[1], name: m[2] } : { index, name: line };
  });
}
