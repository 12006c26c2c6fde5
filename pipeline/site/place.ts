/**
 * Puts the images the records reference into the built site, at `<dist>/media/<path relative to
 * the data root>`: a hard link per file (instant, no extra space), a copy where linking is not
 * possible (another device, a file system without hard links). Not through Astro's public/ folder,
 * which Vite copies file by file (10–35 s at CaffeNet scale).
 *
 * A rebuild adopts the previous build's media/ folder: files that are still the same (same inode
 * as in the data root) stay, changed ones are relinked, unreferenced ones removed — instead of
 * deleting and relinking a quarter of a million files.
 */
import { copyFile, link, mkdir, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { UserError } from '../core/errors.ts';
import { mapLimit } from './data.ts';

export interface PlaceResult {
  linked: number;
  copied: number;
  /** Already in place from the previous build. */
  kept: number;
  /** Left over from the previous build and removed. */
  removed: number;
}

const CANNOT_LINK = new Set(['EXDEV', 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS']);

/** Every file under `dir`, as paths relative to it. */
async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  const nested = await mapLimit(entries, 16, async (e) => (e.isDirectory() ? listFiles(join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
  return nested.flat();
}

/**
 * Places every file of `files` (relative to `dataRoot`) under `<dist>/media/`. `previousMedia`: the
 * media folder of an earlier build on the same file system, adopted and brought up to date.
 */
export async function placeImages(dataRoot: string, dist: string, files: string[], previousMedia?: string): Promise<PlaceResult> {
  const mediaRoot = join(dist, 'media');
  const result: PlaceResult = { linked: 0, copied: 0, kept: 0, removed: 0 };
  let present = new Set<string>();
  if (
    previousMedia &&
    (await stat(previousMedia).then(
      (s) => s.isDirectory(),
      () => false,
    ))
  ) {
    await mkdir(dist, { recursive: true });
    await rename(previousMedia, mediaRoot);
    present = new Set(await listFiles(mediaRoot));
  }
  const dirs = new Set(files.map((f) => dirname(join(mediaRoot, f))));
  await mapLimit([...dirs].sort(), 16, (d) => mkdir(d, { recursive: true }));
  let linkWorks = true;
  const missing: string[] = [];

  async function copyInto(src: string, dst: string) {
    await copyFile(src, dst);
    result.copied++;
  }

  await mapLimit(files, 32, async (f) => {
    const src = join(dataRoot, f);
    const dst = join(mediaRoot, f);
    if (present.delete(f)) {
      const [a, b] = await Promise.all([stat(src).catch(() => null), stat(dst).catch(() => null)]);
      if (!a) return void missing.push(f);
      if (b && a.ino === b.ino && a.dev === b.dev) return void result.kept++;
      await unlink(dst).catch(() => {});
    }
    if (linkWorks) {
      try {
        await link(src, dst);
        result.linked++;
        return;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        if (code === 'EEXIST') {
          await unlink(dst);
          await link(src, dst).then(
            () => result.linked++,
            () => copyInto(src, dst),
          );
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
  // What the previous build had and this one no longer names.
  const stale = [...present];
  await mapLimit(stale, 32, (f) => unlink(join(mediaRoot, f)).catch(() => {}));
  result.removed = stale.length;
  const staleDirs = [...new Set(stale.map((f) => dirname(f)))].sort((a, b) => b.length - a.length);
  for (const d of staleDirs) {
    for (let p = d; p && p !== '.'; p = dirname(p))
      if (
        !(await rmdir(join(mediaRoot, p)).then(
          () => true,
          () => false,
        ))
      )
        break;
  }
  return result;
}
