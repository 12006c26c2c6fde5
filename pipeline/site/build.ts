/**
 * `deepvis site build`: data root → static site in `out`:
 *   1. read and validate every record (clear errors before Astro starts) into a snapshot file;
 *   2. `astro build` (reading the snapshot) into a staging folder in the user's cache (<cache>/site-build/…, see core/cache-dir.ts);
 *   3. swap the staging folder into `out`;
 *   4. at once: Pagefind index → `out/pagefind/`; images → `out/media/` (hard links, copies across
 *      devices; a rebuild adopts the previous media/ folder and updates it), then removal of the
 *      rest of the previous build.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.ts';
import { exportModelsForSite } from './export/probe-networks.ts';
import { formatDuration } from '../core/progress.ts';
import { cacheRoot } from '../core/cache-dir.ts';
import { runAstroBuild } from './astro.ts';
import { readGallery, referencedImages, type GalleryData } from './data.ts';
import { placeImages, type PlaceResult } from './place.ts';
import { buildSearchIndex } from './search-index.ts';
import { placeProbeBundle, probeBundle } from './probe-bundle.ts';
import { writeSnapshot } from './snapshot.ts';
import { DEFAULT_PAGE_SIZE, normalizeBase } from './urls.ts';

export interface SiteBuildOptions {
  data: string;
  out: string;
  base?: string;
  pageSize?: number;
  quiet?: boolean;
}

export interface SiteBuildReport {
  out: string;
  base: string;
  units: number;
  pages: number;
  searchPages: number;
  images: PlaceResult;
  /** Milliseconds per step. */
  ms: { read: number; astro: number; probe: number; swap: number; pagefind: number; place: number; total: number };
}

/** Pages the site will have for this data (home, search, 404, per model, per layer page, per unit). */
export function expectedPages(g: GalleryData, pageSize: number): number {
  let n = 3;
  for (const m of g.models) {
    n += 1;
    const counts = new Map<string, number>();
    for (const u of g.units) if (u.model === m.id) counts.set(u.layerSlug, (counts.get(u.layerSlug) ?? 0) + 1);
    if (m.layers.some((l) => l.classLayer && counts.get(l.slug))) n += 1;
    for (const c of counts.values()) n += c + 2 * Math.ceil(c / pageSize);
  }
  return n;
}

const key = (s: string) => createHash('sha1').update(s).digest('hex').slice(0, 12);

/** Refuses to replace a folder that does not look like an earlier build (e.g. `--out .`). */
async function checkReplaceable(out: string): Promise<boolean> {
  const names = await readdir(out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return null;
    throw e;
  });
  if (names === null) return false;
  if (names.length && !names.includes('index.html') && !names.includes('_astro')) {
    throw new UserError(`--out ${out} exists and is not a site build (no index.html); refusing to replace it`);
  }
  return true;
}

/** Moves `staging` to `out`; returns where the previous `out` went (to be removed), if any. */
async function swapInto(staging: string, out: string): Promise<string | undefined> {
  const exists = await checkReplaceable(out);
  await mkdir(dirname(out), { recursive: true });
  const old = exists ? `${out}.old-${process.pid}` : undefined;
  if (old) await rename(out, old);
  try {
    await rename(staging, out);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
    await cp(staging, out, { recursive: true });
    await rm(staging, { recursive: true, force: true });
  }
  return old;
}

/**
 * Reads and validates the content, writes the snapshot Astro reads, and keeps only what the later
 * steps need (the records themselves are freed before Astro runs: its memory and ours add up).
 */
async function snapshotContent(dataRoot: string, snapshot: string, pageSize: number) {
  const g = await readGallery(dataRoot);
  await writeSnapshot(snapshot, g);
  return { images: referencedImages(g.units), pages: expectedPages(g, pageSize), units: g.units.length, models: g.models };
}

/** A promise's value and the milliseconds from `t0` until it was there. */
async function timedFrom<T>(t0: number, p: Promise<T>): Promise<[T, number]> {
  const v = await p;
  return [v, Date.now() - t0];
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };
/** A promise that never rejects (its failure kept as a value), so it may wait unobserved. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}
function unsettle<T>(s: Settled<T>): T {
  if (!s.ok) throw s.error;
  return s.value;
}

export async function buildSite(opts: SiteBuildOptions): Promise<SiteBuildReport> {
  const t0 = Date.now();
  const say = (s: string) => opts.quiet || process.stderr.write(`${s}\n`);
  const dataRoot = resolve(opts.data);
  const out = resolve(opts.out);
  const base = normalizeBase(opts.base);
  const pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
  if (out === dataRoot || dataRoot.startsWith(out + '/')) throw new UserError(`--out ${out} must not contain the data folder`);

  const work = join(cacheRoot(), 'site-build', key(out));
  const staging = join(work, 'dist');
  const snapshot = join(work, 'content.tsv');
  await rm(staging, { recursive: true, force: true });
  await mkdir(work, { recursive: true });
  const { images, pages, units, models } = await snapshotContent(dataRoot, snapshot, pageSize);
  const tRead = Date.now();
  say(`site: ${models.length} model(s), ${units} units, ${images.length} images, ${pages} pages`);

  // A first build places the images while Astro runs (they do not depend on its output); a rebuild
  // adopts the previous build's media/ after the swap instead, so the live site keeps its images.
  const early = join(work, 'early');
  await rm(early, { recursive: true, force: true });
  const placingEarly = (await checkReplaceable(out)) ? undefined : settle(timedFrom(Date.now(), placeImages(dataRoot, early, images)));
  // The probe page's application: bundled once (cached), while Astro runs.
  const bundling = settle(probeBundle(cacheRoot()));
  try {
    await runAstroBuild({
      dataRoot,
      snapshot,
      outDir: staging,
      cacheDir: join(work, 'astro'),
      base,
      pageSize,
      expectedPages: pages,
      unitPages: units,
      quiet: opts.quiet,
    });
  } finally {
    await Promise.all([placingEarly, bundling]); // never left running
  }
  const tAstro = Date.now();
  await placeProbeBundle(unsettle(await bundling), staging);
  const placedEarly = placingEarly ? unsettle(await placingEarly) : undefined;
  if (placedEarly) await rename(join(early, 'media'), join(staging, 'media'));
  await rm(snapshot, { force: true });
  // The probe pages' networks (pipeline/site/export/probe-networks.ts), into staging: a failure leaves `out` as it was.
  const probe = await exportModelsForSite(dataRoot, staging, { quiet: opts.quiet, models });

  const old = await swapInto(staging, out);
  const tSwap = Date.now();

  const placeAndClean = async (): Promise<[PlaceResult, number]> => {
    if (placedEarly) return placedEarly;
    const placed = await placeImages(dataRoot, out, images, old ? join(old, 'media') : undefined);
    if (old) await rm(old, { recursive: true, force: true });
    return [placed, Date.now() - tSwap];
  };
  const [[search, msSearch], [placed, msPlace]] = await Promise.all([
    timedFrom(
      tSwap,
      buildSearchIndex(
        out,
        models.map((m) => m.id),
      ),
    ),
    placeAndClean(),
  ]);
  say(`site: search index over ${search.pages} pages in ${formatDuration(msSearch)}`);
  say(
    `site: images ${placed.linked} linked, ${placed.copied} copied` +
      (placed.kept || placed.removed ? `, ${placed.kept} kept from the previous build, ${placed.removed} removed` : '') +
      ` in ${formatDuration(msPlace)}`,
  );
  const tEnd = Date.now();

  return {
    out,
    base,
    units,
    pages,
    searchPages: search.pages,
    images: placed,
    ms: { read: tRead - t0, astro: tAstro - tRead, probe: probe.ms, swap: tSwap - tAstro - probe.ms, pagefind: msSearch, place: msPlace, total: tEnd - t0 },
  };
}

/** True when `dir` holds a finished build (index.html and the search bundle). */
export async function isBuilt(dir: string): Promise<boolean> {
  return stat(join(dir, 'pagefind', 'pagefind.js')).then(
    () => true,
    () => false,
  );
}
