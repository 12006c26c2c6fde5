import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import fg from 'fast-glob';
import { UserError } from '../core/errors.ts';

/** File extensions taken from folders and globs (case-insensitive). A file named explicitly is always taken. */
export const IMAGE_EXTENSIONS = ['jpg', 'jpeg', 'png', 'webp', 'gif', 'tif', 'tiff', 'avif', 'bmp'];

const IMAGE_RE = new RegExp(`\\.(${IMAGE_EXTENSIONS.join('|')})$`, 'i');

/**
 * Expands command-line image arguments into a list of files, in argument order, without duplicates:
 * - an existing file → itself (whatever its extension: decoding tells whether it is an image);
 * - an existing folder → its image files, recursively, sorted by path;
 * - otherwise a glob pattern (fast-glob syntax: `photos/**\/*.jpg`, `{a,b}/*.png`) → the matching
 *   image files, sorted. A plain path that exists nowhere is an error naming it.
 * Nothing matched at all → UserError.
 */
export async function expandInputs(args: string[], cwd = process.cwd()): Promise<string[]> {
  if (args.length === 0) throw new UserError('no images given (pass files, folders or glob patterns)');
  const out: string[] = [];
  const seen = new Set<string>();
  const add = (file: string) => {
    const key = resolve(cwd, file);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(file);
    }
  };
  for (const arg of args) {
    const kind = await pathKind(resolve(cwd, arg));
    if (kind === 'file') {
      add(arg);
    } else if (kind === 'dir') {
      const files = await fg('**/*', { cwd: resolve(cwd, arg), onlyFiles: true, dot: false, followSymbolicLinks: true, suppressErrors: true });
      for (const f of sortPaths(files.filter((f) => IMAGE_RE.test(f)))) add(joinPath(arg, f));
    } else if (fg.isDynamicPattern(arg)) {
      const files = await fg(arg, { cwd, onlyFiles: true, dot: false, followSymbolicLinks: true, suppressErrors: true });
      for (const f of sortPaths(files.filter((f) => IMAGE_RE.test(f)))) add(f);
    } else {
      throw new UserError(`${arg}: no such image file or folder`);
    }
  }
  if (out.length === 0)
    throw new UserError(`no images matched ${args.map((a) => JSON.stringify(a)).join(' ')} (image extensions: ${IMAGE_EXTENSIONS.join(', ')})`);
  return out;
}

async function pathKind(path: string): Promise<'file' | 'dir' | 'none'> {
  try {
    const s = await stat(path);
    return s.isDirectory() ? 'dir' : 'file';
  } catch {
    return 'none';
  }
}

function joinPath(dir: string, file: string): string {
  return dir.endsWith('/') ? dir + file : `${dir}/${file}`;
}

/** Byte-order sort: the same on every machine and locale. */
function sortPaths(paths: string[]): string[] {
  return [...paths].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}
