/**
 * The link checker: it finds every kind of broken internal link in a hand-made site, and finds none
 * in the built fixture gallery (tests/e2e/fixture.ts).
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkLinks } from '../pipeline/site/link-check.ts';
import { requireAssets } from './helpers/assets.ts';
import { buildFixtureGallery } from './e2e/fixture.ts';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function site(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'deepvis-links-'));
  dirs.push(dir);
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), text);
  }
  return dir;
}

describe('link checker', () => {
  it('finds missing pages, images, scripts, srcset entries, form actions and links outside the base', async () => {
    const page = `<!doctype html><link rel="stylesheet" href="/p/_astro/a.css"><script src="/p/_astro/gone.js"></script>
      <a href="/p/m/l/1/">ok</a> <a href="/p/m/l/2/">missing page</a> <a href="../1/">relative ok</a> <a href="3/">relative missing</a>
      <img src="/p/media/a.webp" width="1" height="1" alt=""> <img src="/p/media/b.webp" width="1" height="1" alt="">
      <img srcset="/p/media/a.webp 1x, /p/media/c.webp 2x" alt=""> <form action="/p/search/"></form>
      <a href="/elsewhere/">outside base</a> <a href="https://example.com/x">external</a> <a href="#top">anchor</a>
      <p data-note="&lt;img src=x&gt;">text &lt;a href="/p/nope/"&gt;</p><button data-copy="/p/m/l/1/">copy</button>`;
    const dir = await site({
      'm/l/1/index.html': page,
      '_astro/a.css': '',
      'media/a.webp': '',
    });
    const r = await checkLinks(dir, '/p/');
    expect(r.pages).toBe(1);
    expect(r.broken.map((b) => `${b.attr} ${b.url} (${b.why})`).sort()).toEqual([
      'action /p/search/ (no index.html)',
      'href /elsewhere/ (outside the base /p/)',
      'href /p/m/l/2/ (no index.html)',
      'href 3/ (no index.html)',
      'src /p/_astro/gone.js (no such file)',
      'src /p/media/b.webp (no such file)',
      'srcset /p/media/c.webp (no such file)',
    ]);
  });

  it('checks a site built for one base against another and finds every link broken', async () => {
    const dir = await site({ 'index.html': '<a href="/x/">x</a>', 'x/index.html': '<a href="/">home</a>' });
    expect((await checkLinks(dir, '/')).broken).toEqual([]);
    expect((await checkLinks(dir, '/prefix/')).broken.length).toBe(2);
  });
});

const A = process.env.DEEPVIS_E2E_DATA ? { dir: process.env.DEEPVIS_E2E_DATA } : requireAssets();
describe.skipIf(!A.dir)(`link checker on the built fixture gallery ${A.skipReason ?? ''}`, () => {
  it('finds 0 broken internal links and images', async () => {
    const fx = await buildFixtureGallery();
    const r = await checkLinks(fx.dist, fx.base);
    expect(r.broken.slice(0, 10)).toEqual([]);
    expect(r.pages).toBeGreaterThan(fx.units.length);
    expect(r.links).toBeGreaterThan(20 * fx.units.length);
  });
});
