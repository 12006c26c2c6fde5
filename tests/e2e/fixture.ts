/**
 * The gallery the site tests run against, built once per content and shared by every test file
 * (a lock folder keeps parallel test workers from building it twice).
 *
 * Content: the folder named by $DEEPVIS_E2E_DATA (real pipeline output, e.g. a small run on a
 * shared model), else a synthetic CaffeNet-shaped gallery of a few hundred units with real ImageNet
 * class names ($DEEPVIS_ASSETS/models/bvlc_googlenet/synset_words.txt). Either way a tiny extra
 * model, `xss-probe`, is added whose label and name are HTML, to check they render as text.
 */
import { createHash } from 'node:crypto';
import { hashTree, withLock } from '../helpers/build-cache.ts';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildSite } from '../../pipeline/site/build.ts';
import { readGallery } from '../../pipeline/site/data.ts';
import { defaultLabels, makeSyntheticGallery, SMALL_LAYERS } from '../../scripts/make-synthetic-gallery.ts';
import type { UnitRecord } from '../../pipeline/content/types.ts';
import { realPipelineData } from './real-data.ts';

export const ROOT = resolve(new URL('../../', import.meta.url).pathname);
const WORK = join(ROOT, '.cache', 'e2e');

/** Label and model name of the `xss-probe` model. */
export const EVIL_LABEL = `<script>window.__xss = 1</script><img src=x onerror="window.__xss = 2"> & "cat"`;
export const EVIL_MODEL_NAME = `probe <b>bold</b>`;
/** Units per layer page in the fixture (small, so a few hundred units paginate). */
export const FIXTURE_PAGE_SIZE = 100;

export interface FixtureGallery {
  dataDir: string;
  dist: string;
  base: string;
  pageSize: number;
  units: UnitRecord[];
}

/** Changes whenever the site's code or the source content changes. */
async function sourceKey(source: string, base: string): Promise<string> {
  const h = createHash('sha1').update(`${source}\n${base}\n${FIXTURE_PAGE_SIZE}\n${process.env.DEEPVIS_ASSETS ?? ''}\n`);
  for (const dir of ['site', 'pipeline/site', 'pipeline/content']) await hashTree(join(ROOT, dir), h);
  h.update(await readFile(join(ROOT, 'astro.config.mjs')));
  h.update(await readFile(join(ROOT, 'scripts/make-synthetic-gallery.ts')));
  if (source !== 'synthetic') h.update(String((await stat(source)).mtimeMs));
  return h.digest('hex').slice(0, 12);
}

/** Removes fixture builds of earlier code or content (untouched for an hour). */
async function pruneOld(keep: string): Promise<void> {
  for (const d of await readdir(WORK)) {
    if (d === keep || d.endsWith('.lock')) continue;
    const age =
      Date.now() -
      (await stat(join(WORK, d)).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      ));
    if (age > 3_600_000) await rm(join(WORK, d), { recursive: true, force: true });
  }
}

/** The fixture's data root: the source models (linked) plus the xss-probe model. */
async function makeDataRoot(dataRoot: string, source: string): Promise<void> {
  await rm(dataRoot, { recursive: true, force: true });
  await mkdir(dataRoot, { recursive: true });
  if (source === 'synthetic') {
    await makeSyntheticGallery({ out: dataRoot, labels: await defaultLabels(), layers: SMALL_LAYERS, partial: true, seed: 7 });
  } else {
    for (const d of await readdir(source, { withFileTypes: true })) {
      if (existsSync(join(source, d.name, 'model.json'))) await symlink(join(resolve(source), d.name), join(dataRoot, d.name), 'dir');
    }
  }
  await makeSyntheticGallery({
    out: dataRoot,
    model: 'xss-probe',
    modelName: EVIL_MODEL_NAME,
    seed: 3,
    labels: [{ synset: 'n99999999', name: EVIL_LABEL }, { name: 'plain class' }],
    layers: [{ name: 'prob', kind: 'softmax', shape: [2], rf: 227, stride: 1 }],
  });
}

/**
 * Builds (or reuses) the fixture gallery for `base`. `dataDir` defaults to $DEEPVIS_E2E_DATA, else
 * real pipeline output of a shared model (tests/e2e/real-data.ts, needs $DEEPVIS_ASSETS), else
 * synthetic content.
 */
export async function buildFixtureGallery(opts: { base?: string; dataDir?: string } = {}): Promise<FixtureGallery> {
  const base = opts.base ?? '/';
  const source = opts.dataDir ?? process.env.DEEPVIS_E2E_DATA ?? (await realPipelineData()) ?? 'synthetic';
  const key = await sourceKey(source === 'synthetic' ? source : resolve(source), base);
  const dir = join(WORK, key);
  const dataDir = join(dir, 'data');
  const dist = join(dir, 'dist');
  const done = join(dir, 'done');
  await mkdir(WORK, { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(done)) return;
    await pruneOld(key);
    await makeDataRoot(dataDir, source);
    await buildSite({ data: dataDir, out: dist, base, pageSize: FIXTURE_PAGE_SIZE, quiet: true });
    await writeFile(done, new Date().toISOString());
  });
  const { units } = await readGallery(dataDir);
  return { dataDir, dist, base, pageSize: FIXTURE_PAGE_SIZE, units };
}
