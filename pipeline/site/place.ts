/**
 * Puts the images the records reference into the built site, at `<dist>/media/<path relative to
 * the data root>`: a hard link per file (instant, no extra space), a copy where linking is not
 * possible (another device, a file system without hard links). Not through Astro's public/ folder,
 * which Vite copies file by file (10–35 s at CaffeNet scale).
 */
import { copyFile, link, mkdir, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../errors.ts';
import { mapLimit } from './data.ts';

export interface PlaceResult {
  linked: number;
  copied: number;
}

const CANNOT_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** Places every file of `files` (relative to `dataRoot`) under `<dist>/media/`. */
export async function placeImages(dataRoot: string, dist: string, files: string[]): Promise<PlaceResult> {
  const mediaRoot = join(dist, 'media');
  const dirs = new Set(files.map((f) => dirname(join(mediaRoot, f))));
  await mapLimit([...dirs].sort(), 16, (d) => mkdir(d, { recursive: true }));
  let linkWorks = true;
  const result: PlaceResult = { linked: 0, copied: 0 };
  const missing: string[] = [];
  await mapLimit(files, 32, async (f) => {
    const src = join(dataRoot, f);
    const dst = join(mediaRoot, f);
    if (linkWorks) {
      try {
        await link(src, dst);
        result.linked++;
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (code === 'EEXIST') {
          await unlink(dst);
          await link(src, dst).then(() => result.linked++, () => copyInto(src, dst));
          return;
        }
        if (code === 'ENOENT') return void missing.push(f);
        if (!CANNOT_LINK.has(code)) throw e;
        linkWorks = false;
      }
    }
    await copyInto(src, dst).catch((e) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') missing.push(f);
      else throw e;
    });
  });
  if (missing.length) {
    missing.sort();
    throw new UserError(`${missing.length} image(s) named in the unit records are missing, e.g. ${join(dataRoot, missing[0])}`);
  }
  return result;

  async function copyInto(src: string, dst: string) {
    await copyFile(src, dst);
    result.copied++;
  }
}
