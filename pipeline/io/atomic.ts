import { mkdir, rename, writeFile, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

/**
 * This machine in temp-file names (8 hex digits of its host name): a data folder shared by many
 * machines may hold temp files of live processes elsewhere, and only this host's can be judged.
 */
export const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** `<host>-<pid>` of a temp file written by `writeFileAtomic`, or undefined for other names. */
export function tempOwner(name: string): { host: string; pid: number } | undefined {
  const m = /\.([0-9a-f]{8})-(\d+)\.[0-9a-f]+\.tmp$/.exec(name);
  return m ? { host: m[1], pid: Number(m[2]) } : undefined;
}

/** Writes a file so that readers only ever see the old or the complete new content: temp file, then rename. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${HOST_TAG}-${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 1) + '\n');
}
