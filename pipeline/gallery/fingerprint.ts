import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * A fingerprint of the gallery content under a data root (every file but the resumable state:
 * records by content, images by size and modification time). Equal fingerprints mean the site built from it is still current.
 */
export async function dataFingerprint(dataRoot: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name === 'state' && dir !== dataRoot) continue;
        await walk(p);
      } else if (e.isFile() && !e.name.endsWith('.tmp')) {
        // Records may be rewritten with the same content (a resumed stage): hash their bytes;
        // images are only ever written when they change: size and time suffice.
        if (e.name.endsWith('.json'))
          h.update(`${relative(dataRoot, p)}\0`)
            .update(await readFile(p))
            .update('\n');
        else {
          const s = await stat(p);
          h.update(`${relative(dataRoot, p)}\0${s.size}\0${s.mtimeMs}\n`);
        }
      }
    }
  };
  await walk(dataRoot);
  return h.digest('hex');
}
