/**
 * `deepvis site serve`: a small static file server for previewing a built site on 127.0.0.1, under
 * the same base path the site was built for. Directory URLs serve their index.html (and redirect to
 * the slash form), unknown paths get 404.html, nothing outside the folder is reachable.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, relative, resolve, sep } from 'node:path';
import { normalizeBase } from './urls.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.webp': 'image/webp',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.avif': 'image/avif',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
  // Pagefind's bundle: compressed wasm and index files, fetched as bytes.
  '.pagefind': 'application/octet-stream',
  '.pf_meta': 'application/octet-stream',
  '.pf_index': 'application/octet-stream',
  '.pf_fragment': 'application/octet-stream',
  '.pf_filter': 'application/octet-stream',
};

export function contentType(file: string): string {
  return TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream';
}

export interface ServeOptions {
  dist: string;
  base?: string;
  port?: number;
  host?: string;
}

async function statOrNull(p: string) {
  return stat(p).catch(() => null);
}

export function createSiteServer(opts: ServeOptions): Server {
  const root = resolve(opts.dist);
  const base = normalizeBase(opts.base);

  async function send(res: ServerResponse, req: IncomingMessage, file: string, status = 200, size?: number) {
    res.writeHead(status, {
      'Content-Type': contentType(file),
      ...(size !== undefined ? { 'Content-Length': size } : {}),
      'Cache-Control': file.endsWith('.html') ? 'no-cache' : 'public, max-age=300',
      'X-Content-Type-Options': 'nosniff',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  }

  async function notFound(req: IncomingMessage, res: ServerResponse) {
    const page = join(root, '404.html');
    const s = await statOrNull(page);
    if (s?.isFile()) return send(res, req, page, 404, s.size);
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    const u = new URL(req.url ?? '/', 'http://localhost');
    let path: string;
    try {
      path = decodeURIComponent(u.pathname);
    } catch {
      res.writeHead(400).end('bad path\n');
      return;
    }
    if (path.includes('\0')) return void res.writeHead(400).end('bad path\n');
    if (base !== '/' && (path === base.slice(0, -1) || path === '/')) {
      res.writeHead(path === '/' ? 302 : 301, { Location: base + u.search }).end();
      return;
    }
    if (!path.startsWith(base)) return notFound(req, res);
    const file = resolve(root, '.' + path.slice(base.length - 1));
    const rel = relative(root, file);
    if (rel.startsWith('..') || rel.includes(`..${sep}`)) return notFound(req, res);
    const s = await statOrNull(file);
    if (s?.isDirectory()) {
      if (!u.pathname.endsWith('/')) {
        res.writeHead(301, { Location: `${u.pathname}/${u.search}` }).end();
        return;
      }
      const index = join(file, 'index.html');
      const si = await statOrNull(index);
      if (si?.isFile()) return send(res, req, index, 200, si.size);
      return notFound(req, res);
    }
    if (s?.isFile()) return send(res, req, file, 200, s.size);
    return notFound(req, res);
  }

  return createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
}

/** Starts the server; resolves with its URL once it listens (port 0 picks a free port). */
export async function serveSite(opts: ServeOptions): Promise<{ server: Server; url: string }> {
  const server = createSiteServer(opts);
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 4321, host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  return { server, url: `http://${host}:${port}${normalizeBase(opts.base)}` };
}
