/** Reading one content file: JSON that may be absent, then checked with its schema — each problem a UserError naming the file. */
import { readFile } from 'node:fs/promises';
import type { z } from 'zod';
import { UserError } from '../core/errors.ts';
import { describeZodError } from './schema.ts';

/** The file's JSON, or undefined when it does not exist. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${path}: invalid JSON (${(e as Error).message.split('\n')[0]}); delete it to rebuild`);
  }
}

/** `value` checked with `schema` (unknown keys dropped). */
export function parseRecord<T>(schema: z.ZodType<T>, value: unknown, path: string): T {
  const r = schema.safeParse(value);
  if (!r.success) throw new UserError(`${path}: ${describeZodError(r.error)}`);
  return r.data;
}
