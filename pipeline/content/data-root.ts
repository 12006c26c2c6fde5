import { resolve } from 'node:path';

/** The data root: `--data`, else $DEEPVIS_DATA, else `data/` under the working directory. */
export function resolveDataRoot(flag?: string): string {
  return resolve(flag ?? process.env.DEEPVIS_DATA ?? 'data');
}
