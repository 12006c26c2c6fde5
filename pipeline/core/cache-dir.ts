import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * Where deepvis keeps downloads and scratch files: `--cache-dir` / $DEEPVIS_CACHE, else
 * $XDG_CACHE_HOME/deepvis, else ~/.cache/deepvis. Never inside the package's own folder, so a
 * read-only or shared install works.
 */
export function cacheRoot(): string {
  if (process.env.DEEPVIS_CACHE) return resolve(process.env.DEEPVIS_CACHE);
  if (process.env.XDG_CACHE_HOME) return join(process.env.XDG_CACHE_HOME, 'deepvis');
  return join(homedir(), '.cache', 'deepvis');
}
