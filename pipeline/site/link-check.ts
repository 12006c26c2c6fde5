/**
 * Checks every internal link of a built site: each href/src/srcset/action/data-copy of every HTML
 * page must name a file in `dist` (a path ending in `/` needs its index.html), under the base the
 * site was built for. External URLs (with a scheme or `//`) and in-page anchors are skipped.
 *
 *   node bin/run-ts.mjs pipeline/site/link-check.ts dist [/prefix/]
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { normalizeBase } from './urls.ts';

export interface BrokenLink {
  /** The page, relative to dist. */
  page: string;
  attr: string;
  url: string;
  why: string;
}

export interface LinkCheckResult {
  pages: number;
  links: number;
  broken: BrokenLink[];
}

/** Top-level folders with no pages (skipped by the walk; their files are still link targets). */
const NO_PAGES = new Set(['media', 'pagefind', '_astro']);
const LINK_ATTRS = new Set(['href', 'src', 'srcset', 'action', 'data-copy']);
/** A start tag (after comments and script/style bodies are dropped). */
const TAG = /<[a-zA-Z][a-zA-Z0-9-]*((?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*)\s*\/?>/g;
/** One attribute of a start tag; values are consumed whole, so text inside them is never mistaken for an attribute. */
const ATTR = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;

function decodeEntities(s: string): string {
  return s.replace(/&(#x[0-9a-f]+|#\d+|amp|quot|apos|lt|gt|#39);/gi, (m, e: string) => {
    const lower = e.toLowerCase();
    if (lower.startsWith('#x')) return String.fromCodePoint(parseInt(lower.slice(2), 16));
    if (lower.startsWith('#')) return String.fromCodePoint(Number(lower.slice(1)));
    return ({ amp: '&', quot: '"', apos: "'", lt: '<', gt: '>' } as Record<string, string>)[lower] ?? m;
  });
}

async function htmlFiles(dir: string, top = true): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(dir, { withFileTypes: true })) {
    if (d.isDirectory()) {
      if (!(top && NO_PAGES.has(d.name))) out.push(...(await htmlFiles(join(dir, d.name), false)));
    } else if (d.name.endsWith('.html')) out.push(join(dir, d.name));
  }
  return out;
}

/** The URL path a page is served at, e.g. caffenet/fc8/281/index.html → /base/caffenet/fc8/281/. */
function pageUrl(rel: string, base: string): string {
  const path = rel.split(/[\\/]/).join('/');
  return base + (path.endsWith('index.html') ? path.slice(0, -'index.html'.length) : path);
}

/** The link-bearing attributes of every start tag in `html` (not of text, comments or scripts). */
export function extractLinks(html: string): { attr: string; url: string }[] {
  const links: { attr: string; url: string }[] = [];
  const markup = html.replace(/<!--[\s\S]*?-->/g, '').replace(/(<(script|style)\b[^>]*>)[\s\S]*?<\/\2\s*>/gi, '$1');
  for (const tag of markup.matchAll(TAG))
    for (const m of tag[1].matchAll(ATTR)) {
      const attr = m[1].toLowerCase();
      if (!LINK_ATTRS.has(attr)) continue;
      const raw = decodeEntities(m[2] ?? m[3] ?? m[4] ?? '').trim();
      if (attr === 'srcset') {
        for (const part of raw.split(',')) {
          const u = part.trim().split(/\s+/)[0];
          if (u) links.push({ attr, url: u });
        }
      } else links.push({ attr, url: raw });
    }
  return links;
}

function isExternal(url: string): boolean {
  return url === '' || url.startsWith('#') || url.startsWith('//') || /^[a-z][a-z0-9+.-]*:/i.test(url);
}

export async function checkLinks(distDir: string, baseOpt = '/'): Promise<LinkCheckResult> {
  const dist = resolve(distDir);
  const base = normalizeBase(baseOpt);
  const exists = new Map<string, Promise<'file' | 'dir' | null>>();
  const kind = (p: string) => {
    let k = exists.get(p);
    if (!k)
      exists.set(
        p,
        (k = stat(p).then(
          (s) => (s.isFile() ? 'file' : s.isDirectory() ? 'dir' : null),
          () => null,
        )),
      );
    return k;
  };
  const pages = await htmlFiles(dist);
  const broken: BrokenLink[] = [];
  let links = 0;
  for (const file of pages) {
    const page = relative(dist, file);
    const from = new URL(pageUrl(page, base), 'http://site.invalid');
    const checks = extractLinks(await readFile(file, 'utf8'))
      .filter((l) => !isExternal(l.url))
      .map(async ({ attr, url }) => {
        links++;
        const target = new URL(url, from);
        let path: string;
        try {
          path = decodeURIComponent(target.pathname);
        } catch {
          return broken.push({ page, attr, url, why: 'bad percent-encoding' });
        }
        if (!path.startsWith(base)) return broken.push({ page, attr, url, why: `outside the base ${base}` });
        const rel = path.slice(base.length);
        if (rel === '' || rel.endsWith('/')) {
          if ((await kind(join(dist, rel, 'index.html'))) !== 'file') broken.push({ page, attr, url, why: 'no index.html' });
          return;
        }
        const k = await kind(join(dist, rel));
        if (k === 'dir' ? (await kind(join(dist, rel, 'index.html'))) !== 'file' : k !== 'file') broken.push({ page, attr, url, why: 'no such file' });
      });
    await Promise.all(checks);
  }
  broken.sort((a, b) => a.page.localeCompare(b.page) || a.url.localeCompare(b.url));
  return { pages: pages.length, links, broken };
}

async function main() {
  const [dist = 'dist', base = '/'] = process.argv.slice(2);
  const r = await checkLinks(dist, base);
  for (const b of r.broken.slice(0, 50)) console.log(`${b.page}: ${b.attr}="${b.url}" — ${b.why}`);
  console.log(`${r.pages} pages, ${r.links} internal links, ${r.broken.length} broken`);
  process.exitCode = r.broken.length ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
