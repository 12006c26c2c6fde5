/**
 * The built fixture gallery (tests/e2e/fixture.ts), checked without a browser: image attributes,
 * escaping, page sizes, what Pagefind indexes; and the CLI's answers to bad input.
 */
import { spawnSync } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { unitPath } from '../pipeline/site/urls.ts';
import { requireAssets } from './helpers/assets.ts';
import { buildFixtureGallery, EVIL_LABEL, ROOT, type FixtureGallery } from './e2e/fixture.ts';

async function pages(dir: string, top = true): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (d.isDirectory() && !(top && ['media', 'pagefind', '_astro'].includes(d.name))) out.push(...(await pages(join(dir, d.name), false)));
    else if (d.name.endsWith('.html')) out.push(join(dir, d.name));
  }
  return out;
}

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** A start tag; attribute values are consumed whole (a `<` inside one is legal and inert). */
const TAG = /<([a-zA-Z][\w-]*)((?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
/** The markup without attribute values, to look for live tags. */
const withoutAttributes = (html: string) => html.replace(TAG, '<$1>');

const A = process.env.DEEPVIS_E2E_DATA ? { dir: process.env.DEEPVIS_E2E_DATA } : requireAssets();
describe.skipIf(!A.dir)(`built gallery ${A.skipReason ?? ''}`, () => {
  let fx: FixtureGallery;
  let html: Map<string, string>;
  beforeAll(async () => {
    fx = await buildFixtureGallery();
    html = new Map();
    for (const p of await pages(fx.dist)) html.set(relative(fx.dist, p), await readFile(p, 'utf8'));
  });

  it('has a page per unit, and only unit pages are searchable', () => {
    for (const u of fx.units) expect(html.has(`${unitPath(u.model, u.layerSlug, u.unit).slice(1)}index.html`)).toBe(true);
    const indexed = [...html].filter(([, text]) => text.includes('data-pagefind-body'));
    expect(indexed.length).toBe(fx.units.length);
  });

  it('gives every image width, height and alt text', () => {
    let images = 0;
    for (const [page, text] of html) {
      for (const [tag] of [...text.matchAll(TAG)].filter((m) => m[1] === 'img')) {
        images++;
        for (const attr of ['width', 'height', 'alt']) expect(tag, `${page}: ${attr}`).toMatch(new RegExp(`\\s${attr}="`));
        expect(tag, page).toMatch(/\swidth="[1-9]\d*"/);
      }
    }
    expect(images).toBeGreaterThan(fx.units.length);
  });

  it('keeps unit pages under 30 KB of HTML', () => {
    const sizes = [...html].filter(([p]) => /\/\d+\/index\.html$/.test(p)).map(([p, t]) => [p, Buffer.byteLength(t)] as const);
    const biggest = sizes.sort((a, b) => b[1] - a[1])[0];
    expect(biggest[1], biggest[0]).toBeLessThanOrEqual(30 * 1024);
  });

  it('escapes labels: HTML in a label is text', () => {
    const page = html.get('xss-probe/prob/0/index.html')!;
    expect(page).toContain(escapeHtml(EVIL_LABEL.slice(0, 20)));
    const tags = withoutAttributes(page);
    expect(tags).toContain('<h1>'); // the stripping kept the tags
    expect(tags).not.toContain('<script>window.__xss');
    expect(tags).not.toMatch(/<img>[^<]*window\.__xss/);
    for (const [p, text] of html) expect(withoutAttributes(text), p).not.toContain('<b>bold</b>');
  });

  it('writes the Pagefind bundle', async () => {
    const entry = JSON.parse(await readFile(join(fx.dist, 'pagefind', 'pagefind-entry.json'), 'utf8'));
    expect(entry.languages.en.page_count).toBe(fx.units.length);
  });
});

describe('deepvis site: bad input', () => {
  const cli = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, 'bin/dev.mjs'), 'site', ...args], { encoding: 'utf8', cwd: ROOT });

  it('answers in one line with exit 2', () => {
    const cases: [string[], RegExp][] = [
      [['build', '--data', '/nonexistent/deepvis-data'], /data folder \/nonexistent\/deepvis-data does not exist/],
      [['build', '--base', 'prefix'], /--base must start with "\/"/],
      [['build', '--page-size', '0'], /--page-size must be an integer ≥ 1/],
      [['build', '--data', ROOT, '--out', join(ROOT, 'pipeline')], /no model in/],
      [['serve', '--dist', '/nonexistent/deepvis-dist'], /is not a built site/],
      [['frobnicate'], /unknown subcommand "site frobnicate"/],
    ];
    for (const [args, pattern] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(pattern);
      expect(r.stderr.trim().split('\n').length, args.join(' ')).toBe(1);
    }
  });
});
