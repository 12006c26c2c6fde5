/** `deepvis site serve`'s static server: MIME types, base path, directories, 404, no escape from the folder. */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveSite } from '../../pipeline/site/serve.ts';

let dir: string;
const servers: Server[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'deepvis-serve-'));
  const files: Record<string, string> = {
    'index.html': '<h1>home</h1>',
    '404.html': '<h1>not here</h1>',
    'm/fc8/281/index.html': '<h1>unit</h1>',
    'media/m/img/a.webp': 'RIFF',
    '_astro/x.css': 'body{}',
    '_astro/x.js': 'export {}',
    'pagefind/pagefind.js': 'export {}',
    'pagefind/wasm.en.pagefind': 'w',
    'pagefind/pagefind.en_1.pf_meta': 'm',
    'pagefind/index/en_1.pf_index': 'i',
    'pagefind/fragment/en_1.pf_fragment': 'f',
    'pagefind/filter/en_1.pf_filter': 'f',
    'pagefind/pagefind-entry.json': '{}',
    'x.wasm': 'w',
  };
  for (const [p, text] of Object.entries(files)) {
    await mkdir(join(dir, p, '..'), { recursive: true });
    await writeFile(join(dir, p), text);
  }
  await writeFile(join(tmpdir(), 'deepvis-serve-secret.txt'), 'secret');
});
afterAll(async () => {
  for (const s of servers) s.close();
  await rm(dir, { recursive: true, force: true });
});

async function start(base?: string) {
  const { server, url } = await serveSite({ dist: dir, port: 0, base });
  servers.push(server);
  return new URL(url).origin;
}

const get = (url: string) => fetch(url, { redirect: 'manual' });

describe('site server', () => {
  it('serves files with their MIME types, directories as index.html', async () => {
    const o = await start();
    const types: Record<string, string> = {
      '/': 'text/html; charset=utf-8',
      '/m/fc8/281/': 'text/html; charset=utf-8',
      '/media/m/img/a.webp': 'image/webp',
      '/_astro/x.css': 'text/css; charset=utf-8',
      '/_astro/x.js': 'text/javascript; charset=utf-8',
      '/x.wasm': 'application/wasm',
      '/pagefind/pagefind-entry.json': 'application/json; charset=utf-8',
      '/pagefind/wasm.en.pagefind': 'application/octet-stream',
      '/pagefind/pagefind.en_1.pf_meta': 'application/octet-stream',
      '/pagefind/index/en_1.pf_index': 'application/octet-stream',
      '/pagefind/fragment/en_1.pf_fragment': 'application/octet-stream',
      '/pagefind/filter/en_1.pf_filter': 'application/octet-stream',
    };
    for (const [path, type] of Object.entries(types)) {
      const r = await get(o + path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('content-type'), path).toBe(type);
    }
    expect(await (await get(`${o}/m/fc8/281/`)).text()).toBe('<h1>unit</h1>');
  });

  it('redirects a directory without its slash, answers 404 with 404.html, stays inside the folder', async () => {
    const o = await start();
    const r = await get(`${o}/m/fc8/281?x=1`);
    expect(r.status).toBe(301);
    expect(r.headers.get('location')).toBe('/m/fc8/281/?x=1');
    const missing = await get(`${o}/m/fc8/999/`);
    expect(missing.status).toBe(404);
    expect(await missing.text()).toBe('<h1>not here</h1>');
    for (const evil of ['/../deepvis-serve-secret.txt', '/%2e%2e/deepvis-serve-secret.txt', '/..%2fdeepvis-serve-secret.txt']) {
      const e = await get(o + evil);
      expect(e.status, evil).toBe(404);
    }
    expect((await fetch(`${o}/`, { method: 'POST' })).status).toBe(405);
  });

  it('serves under a base path only', async () => {
    const o = await start('/prefix/');
    expect((await get(`${o}/prefix/m/fc8/281/`)).status).toBe(200);
    expect((await get(`${o}/prefix/media/m/img/a.webp`)).status).toBe(200);
    expect((await get(`${o}/m/fc8/281/`)).status).toBe(404);
    const root = await get(`${o}/`);
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/prefix/');
    const bare = await get(`${o}/prefix`);
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/prefix/');
  });
});
