/** Reading the pipeline's content for the site, and placing its images into a build. */
import { mkdtemp, readFile, rm, stat, writeFile, unlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isUserError } from '../../pipeline/core/errors.ts';
import { readGallery, referencedImages } from '../../pipeline/site/data.ts';
import { placeImages } from '../../pipeline/site/place.ts';
import { expectedPages } from '../../pipeline/site/build.ts';
import { makeSyntheticGallery } from '../../scripts/make-synthetic-gallery.ts';

let root: string;
const LABELS = [
  { synset: 'n1', name: 'one' },
  { synset: 'n2', name: 'two' },
  { synset: 'n3', name: 'three' },
];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'deepvis-site-data-'));
  await makeSyntheticGallery({
    out: root,
    model: 'tiny',
    labels: LABELS,
    partial: true,
    layers: [
      { name: 'conv/a', kind: 'conv', shape: [8, 4, 4], rf: 5, stride: 1, present: [0, 1, 2, 3, 5] },
      { name: 'prob', kind: 'softmax', shape: [3], rf: 9, stride: 1 },
    ],
  });
});
afterEach(() => rm(root, { recursive: true, force: true }));

async function expectUserError(p: Promise<unknown>, pattern: RegExp) {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  );
  expect(e, 'should throw').not.toBeNull();
  expect(isUserError(e), String(e)).toBe(true);
  expect((e as Error).message).toMatch(pattern);
}

const unitFile = (layer: string, unit: number) => join(root, 'tiny', 'units', layer, `${unit}.json`);

describe('readGallery', () => {
  it('reads models and unit records in layer and unit order', async () => {
    const g = await readGallery(root);
    expect(g.models.map((m) => m.id)).toEqual(['tiny']);
    expect(g.units.map((u) => `${u.layerSlug}/${u.unit}`)).toEqual(['conv-a/0', 'conv-a/1', 'conv-a/2', 'conv-a/3', 'conv-a/5', 'prob/0', 'prob/1', 'prob/2']);
    expect(g.units.find((u) => u.layerSlug === 'conv-a' && u.unit === 3)!.optimized).toEqual([]);
    expect(g.units.find((u) => u.layerSlug === 'conv-a' && u.unit === 5)!.maxImages).toEqual([]);
    expect(g.units.find((u) => u.layerSlug === 'prob' && u.unit === 1)!.label).toBe('two');
    // home, search, 404, model page, classes page; per layer: units + 2 orders × 1 page
    expect(expectedPages(g, 256)).toBe(5 + (5 + 2) + (3 + 2));
    expect(expectedPages(g, 2)).toBe(5 + (5 + 2 * 3) + (3 + 2 * 2));
  });

  it('lists every referenced image once', async () => {
    const g = await readGallery(root);
    const files = referencedImages(g.units);
    expect(new Set(files).size).toBe(files.length);
    // 4 optimised + 9 patches + 9 deconvs + 9 heat maps, minus what the partial units lack
    expect(files.length).toBe(8 * 31 - 4 - 27);
  });

  it('names the file and the problem when a record is bad', async () => {
    await expectUserError(readGallery(join(root, 'nope')), /does not exist/);
    await writeFile(unitFile('prob', 1), '{ not json');
    await expectUserError(readGallery(root), /prob\/1\.json: invalid JSON/);
    const good = JSON.parse(await readFile(unitFile('prob', 0), 'utf8'));
    await writeFile(unitFile('prob', 1), JSON.stringify({ ...good, unit: 1, optimized: [{ ...good.optimized[0], file: '../../etc/passwd' }] }));
    await expectUserError(readGallery(root), /prob\/1\.json: optimized\.0\.file: must be a path relative to the data root/);
    await writeFile(unitFile('prob', 1), JSON.stringify({ ...good, unit: 1, topClasses: 'x' }));
    await expectUserError(readGallery(root), /prob\/1\.json: topClasses: Expected array/);
    await writeFile(unitFile('prob', 1), JSON.stringify(good));
    await expectUserError(readGallery(root), /prob\/1\.json: record says tiny\/prob\/0, its path says tiny\/prob\/1/);
    await unlink(unitFile('prob', 1));
    await writeFile(unitFile('prob', 7), JSON.stringify({ ...good, unit: 7 }));
    await expectUserError(readGallery(root), /unit 7 out of range \(layer prob has 3 units\)/);
  });

  it('rejects unknown layer folders, reserved names and unsafe slugs', async () => {
    await mkdir(join(root, 'tiny', 'units', 'ghost'));
    await expectUserError(readGallery(root), /units\/ghost: no layer with slug "ghost"/);
    await rm(join(root, 'tiny', 'units', 'ghost'), { recursive: true });
    const modelFile = join(root, 'tiny', 'model.json');
    const model = JSON.parse(await readFile(modelFile, 'utf8'));
    await writeFile(modelFile, JSON.stringify({ ...model, layers: [{ ...model.layers[0], slug: 'a b' }, model.layers[1]] }));
    await expectUserError(readGallery(root), /model\.json: layers\.0\.slug: layer slug must use only/);
    await writeFile(modelFile, JSON.stringify({ ...model, layers: [{ ...model.layers[0], slug: 'classes' }, model.layers[1]] }));
    await expectUserError(readGallery(root), /layer slug is reserved/);
    await writeFile(modelFile, JSON.stringify({ ...model, id: 'other' }));
    await expectUserError(readGallery(root), /id "other" differs from its folder name "tiny"/);
  });
});

describe('placeImages', () => {
  it('hard-links every referenced image under media/, replacing stale ones', async () => {
    const g = await readGallery(root);
    const files = referencedImages(g.units);
    const dist = join(root, 'dist');
    await mkdir(join(dist, 'media', files[0].slice(0, files[0].lastIndexOf('/'))), { recursive: true });
    await writeFile(join(dist, 'media', files[0]), 'stale');
    const r = await placeImages(root, dist, files);
    expect(r).toEqual({ linked: files.length, copied: 0, kept: 0, removed: 0 });
    for (const f of files) {
      const [a, b] = await Promise.all([stat(join(root, f)), stat(join(dist, 'media', f))]);
      expect(b.ino).toBe(a.ino);
    }
  });

  it("adopts a previous build's media: keeps what is current, relinks what changed, removes the rest", async () => {
    const g = await readGallery(root);
    const files = referencedImages(g.units);
    const old = join(root, 'old');
    await placeImages(root, old, files);
    await writeFile(join(old, 'media', 'tiny', 'gone.webp'), 'stale');
    await mkdir(join(old, 'media', 'tiny', 'img', 'gone'), { recursive: true });
    await writeFile(join(old, 'media', 'tiny', 'img', 'gone', 'x.webp'), 'stale');
    // the pipeline rewrites one image (new inode) and a record stops naming another
    await unlink(join(root, files[0]));
    await writeFile(join(root, files[0]), 'new');
    const now = files.slice(0, -1);
    const dist = join(root, 'dist');
    const r = await placeImages(root, dist, now, join(old, 'media'));
    expect(r).toEqual({ linked: 1, copied: 0, kept: now.length - 1, removed: 3 });
    expect(await readFile(join(dist, 'media', files[0]), 'utf8')).toBe('new');
    await expect(stat(join(dist, 'media', files[files.length - 1]))).rejects.toThrow();
    await expect(stat(join(dist, 'media', 'tiny', 'img', 'gone'))).rejects.toThrow();
    await expect(stat(join(old, 'media'))).rejects.toThrow();
  });

  it('says which image is missing', async () => {
    const g = await readGallery(root);
    const files = referencedImages(g.units);
    await unlink(join(root, files[3]));
    await expectUserError(
      placeImages(root, join(root, 'dist'), files),
      new RegExp(`1 image\\(s\\) named in the unit records are missing, e\\.g\\. .*${files[3]}`),
    );
  });
});
