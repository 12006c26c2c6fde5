/**
 * Helpers for test fixtures that are built once and shared by test files running in parallel:
 * a content hash of folders (the cache key) and a lock folder (one builder at a time).
 */
import type { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** Feeds every file under `dir` (path and bytes, in name order) into `h`. */
export async function hashTree(dir: string, h: ReturnType<typeof createHash>): Promise<void> {
  for (const d of (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, d.name);
    if (d.isDirectory()) await hashTree(p, h);
    else h.update(p).update(await readFile(p));
  }
}

/**
 * Runs `fn` holding the lock folder `lock` (created atomically by mkdir). A lock older than
 * `staleMs` is taken as left by a killed run and removed; waiting longer than `waitMs` fails.
 */
export async function withLock<T>(lock: string, fn: () => Promise<T>, opts: { staleMs?: number; waitMs?: number } = {}): Promise<T> {
  const staleMs = opts.staleMs ?? 15 * 60_000;
  const deadline = Date.now() + (opts.waitMs ?? 20 * 60_000);
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch {
      const age =
        Date.now() -
        (await stat(lock).then(
          (s) => s.mtimeMs,
          () => Date.now(),
        ));
      if (age > staleMs) await rm(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`waited too long for ${lock}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}
