import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, readFile, readdir, rm, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { MODEL_PRESETS, resolvePreset, normaliseText, type ModelPreset } from '../../pipeline/import/model-presets.ts';
import { downloadFile } from '../../pipeline/import/download.ts';
import { requireAssets } from '../helpers/assets.ts';

/** A local HTTP server on 127.0.0.1 serving fixed bodies by path, counting requests. Never the internet. */
const files = new Map<string, Buffer>();
const hits: string[] = [];
/** Paths answered by a handler of their own (the misbehaving-server tests). */
const special = new Map<string, (req: IncomingMessage, res: ServerResponse) => void>();
let server: Server;
let base: string;
let tmp: string;

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'presets-'));
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const misbehave = special.get(req.url ?? '');
    if (misbehave) return misbehave(req, res);
    if (req.url === '/redirect/weights.bin') {
      res.writeHead(302, { location: '/m/weights.bin' });
      return res.end();
    }
    const body = files.get(req.url ?? '');
    if (!body) {
      res.writeHead(404);
      return res.end('not found');
    }
    res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
    // Send in several chunks to exercise streaming.
    let i = 0;
    const step = () => {
      if (i >= body.length) return res.end();
      res.write(body.subarray(i, i + 4096));
      i += 4096;
      setImmediate(step);
    };
    step();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((ok) => server.close(ok));
  await rm(tmp, { recursive: true, force: true });
});

const sha = (algo: string, b: Buffer) => createHash(algo).update(b).digest('hex');
const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed * 7 + (i >> 8)) & 255));

/** A minimal ustar archive. */
function tarOf(entries: [string, Buffer][]): Buffer {
  const blocks: Buffer[] = [];
  for (const [name, data] of entries) {
    const h = Buffer.alloc(512);
    h.write(name, 0, 'utf8');
    h.write('0000644\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write('        ', 148);
    h[156] = 48; // '0'
    h.write('ustar\0', 257);
    h.write('00', 263);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

describe('preset resolution', () => {
  it('uses $DEEPVIS_ASSETS/models/<name> when present, without any download', async () => {
    const assets = join(tmp, 'assets');
    await mkdir(join(assets, 'models', 'squeezenet_v1.1'), { recursive: true });
    await writeFile(join(assets, 'models', 'squeezenet_v1.1', 'deploy.prototxt'), 'name: "x"\n');
    const n = hits.length;
    expect(await resolvePreset('squeezenet_v1.1', { assetsDir: assets, baseUrl: base, cacheDir: join(tmp, 'c0') })).toBe(
      join(assets, 'models', 'squeezenet_v1.1'),
    );
    expect(hits.length).toBe(n);
  });

  it('returns undefined for names that are not presets', async () => {
    expect(await resolvePreset('my_model', { assetsDir: null, baseUrl: base })).toBeUndefined();
    expect(await resolvePreset('toString', { assetsDir: null, baseUrl: base })).toBeUndefined();
  });

  it('downloads into the cache, verified, with a progress line; then reuses the cache', async () => {
    const w = bytes(300_000, 1);
    const p = Buffer.from('layer {}\n');
    files.set('/mirror/tiny/weights.caffemodel', w);
    files.set('/mirror/tiny/deploy.prototxt', p);
    const presets: Record<string, ModelPreset> = {
      tiny: {
        name: 'tiny',
        files: [
          { name: 'deploy.prototxt', url: 'https://example.invalid/deploy.prototxt', size: p.length },
          { name: 'weights.caffemodel', url: 'https://example.invalid/w', sha1: sha('sha1', w), sha256: sha('sha256', w), size: w.length },
        ],
      },
    };
    const cache = join(tmp, 'cache1');
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    let dir: string | undefined;
    let printed = '';
    try {
      dir = await resolvePreset('tiny', { presets, assetsDir: null, baseUrl: `${base}/mirror/`, cacheDir: cache, quiet: false });
    } finally {
      printed = err.mock.calls.map((c) => String(c[0])).join('');
      err.mockRestore();
    }
    expect(printed).toMatch(/downloading tiny\/weights\.caffemodel 0\.3\/0\.3 MB 100%/);
    expect(dir).toBe(join(cache, 'models', 'tiny'));
    expect((await readdir(dir!)).sort()).toEqual(['deploy.prototxt', 'weights.caffemodel']);
    expect(sha('sha1', await readFile(join(dir!, 'weights.caffemodel')))).toBe(sha('sha1', w));

    const n = hits.length;
    expect(await resolvePreset('tiny', { presets, assetsDir: null, baseUrl: `${base}/mirror`, cacheDir: cache, quiet: true })).toBe(dir);
    expect(hits.length).toBe(n); // cached

    // A cached file of the wrong size is fetched again.
    await writeFile(join(dir!, 'weights.caffemodel'), 'partial');
    await resolvePreset('tiny', { presets, assetsDir: null, baseUrl: `${base}/mirror`, cacheDir: cache, quiet: true });
    expect(hits.slice(n)).toEqual(['/mirror/tiny/weights.caffemodel']);
    expect((await stat(join(dir!, 'weights.caffemodel'))).size).toBe(w.length);
  });

  it('takes the mirror from DEEPVIS_PRESET_BASE_URL', async () => {
    const p = Buffer.from('abc');
    files.set('/envmirror/e/a.txt', p);
    process.env.DEEPVIS_PRESET_BASE_URL = `${base}/envmirror`;
    try {
      const dir = await resolvePreset('e', {
        presets: { e: { name: 'e', files: [{ name: 'a.txt', url: 'https://example.invalid/a', sha256: sha('sha256', p) }] } },
        assetsDir: null,
        cacheDir: join(tmp, 'cache-env'),
        quiet: true,
      });
      expect(await readFile(join(dir!, 'a.txt'), 'utf8')).toBe('abc');
    } finally {
      delete process.env.DEEPVIS_PRESET_BASE_URL;
    }
  });

  it('a hash mismatch is an error and leaves no file behind', async () => {
    const w = bytes(50_000, 2);
    files.set('/m/bad.bin', w);
    const cache = join(tmp, 'cache-bad');
    const presets: Record<string, ModelPreset> = { m: { name: 'm', files: [{ name: 'bad.bin', url: 'x', sha1: '0'.repeat(40) }] } };
    await expect(resolvePreset('m', { presets, assetsDir: null, baseUrl: base, cacheDir: cache, quiet: true })).rejects.toThrow(
      new RegExp(`preset m: m/bad\\.bin: downloaded from .* but its SHA-1 is ${sha('sha1', w)}, expected 0{40}; the file was removed`),
    );
    expect(await readdir(join(cache, 'models', 'm'))).toEqual([]);
    const sized: Record<string, ModelPreset> = { m: { name: 'm', files: [{ name: 'bad.bin', url: 'x', size: 7 }] } };
    await expect(resolvePreset('m', { presets: sized, assetsDir: null, baseUrl: base, cacheDir: cache, quiet: true })).rejects.toThrow(
      /its size is 50000 bytes, expected 7/,
    );
    expect(await readdir(join(cache, 'models', 'm'))).toEqual([]);
  });

  it('HTTP errors and unreachable hosts are one-line errors naming the URL', async () => {
    const cache = join(tmp, 'cache-404');
    const presets: Record<string, ModelPreset> = { m: { name: 'm', files: [{ name: 'missing.bin', url: 'x', size: 1 }] } };
    await expect(resolvePreset('m', { presets, assetsDir: null, baseUrl: base, cacheDir: cache, quiet: true })).rejects.toThrow(
      new RegExp(`cannot download ${base}/m/missing\\.bin \\(HTTP 404`),
    );
    const closed = createServer();
    await new Promise<void>((ok) => closed.listen(0, '127.0.0.1', ok));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((ok) => closed.close(ok));
    // A refused connection is retried (the host may be restarting), then reported in one line.
    await expect(downloadFile(`http://127.0.0.1:${port}/x`, join(tmp, 'x.bin'), { quiet: true, attempts: 2, backoffMs: 10 })).rejects.toThrow(
      /^cannot download http:\/\/127\.0\.0\.1:\d+\/x: ECONNREFUSED \(gave up after 2 attempts\)$/,
    );
  });

  it('follows redirects and extracts a member of a .tar.gz', async () => {
    const w = bytes(10_000, 3);
    files.set('/m/weights.bin', w);
    await downloadFile(`${base}/redirect/weights.bin`, join(tmp, 'r', 'weights.bin'), { sha256: sha('sha256', w), quiet: true });
    expect(sha('sha256', await readFile(join(tmp, 'r', 'weights.bin')))).toBe(sha('sha256', w));

    const words = Buffer.from('n01440764 tench, Tinca tinca\nn01443537 goldfish, Carassius auratus\n');
    files.set(
      '/aux.tar.gz',
      gzipSync(
        tarOf([
          ['train.txt', bytes(70_000, 4)],
          ['synset_words.txt', words],
          ['val.txt', bytes(1000, 5)],
        ]),
      ),
    );
    await downloadFile(`${base}/aux.tar.gz`, join(tmp, 'r', 'synset_words.txt'), { tarMember: 'synset_words.txt', sha256: sha('sha256', words), quiet: true });
    expect(await readFile(join(tmp, 'r', 'synset_words.txt'), 'utf8')).toBe(words.toString());
    await expect(downloadFile(`${base}/aux.tar.gz`, join(tmp, 'r', 'other.txt'), { tarMember: 'other.txt', quiet: true })).rejects.toThrow(
      /the archive has no member "other\.txt"/,
    );
    expect((await readdir(join(tmp, 'r'))).sort()).toEqual(['synset_words.txt', 'weights.bin']);
  });
});

const A = requireAssets();
describe.skipIf(!A.dir)(`the real preset table ${A.skipReason ?? ''}`, () => {
  it('accepts the shared prototxts and labels (architecture fingerprint, normalised text) and checks the weights by their published SHA-1', async () => {
    const cache = join(tmp, 'real');
    for (const name of ['bvlc_googlenet', 'squeezenet_v1.1']) {
      const shared = join(A.dir!, 'models', name);
      for (const f of MODEL_PRESETS[name].files) {
        const src = f.name.endsWith('.caffemodel') ? (await readdir(shared)).find((x) => x.endsWith('.caffemodel'))! : f.name;
        let body = await readFile(join(shared, src));
        // Formatting differences must not matter for the text files: serve them with CRLF line ends.
        if (!f.name.endsWith('.caffemodel')) body = Buffer.from(body.toString('utf8').replace(/\n/g, '\r\n'));
        files.set(`/real/${name}/${f.name}`, body);
      }
      const err = await resolvePreset(name, { assetsDir: null, baseUrl: `${base}/real`, cacheDir: cache, quiet: true }).then(
        () => null,
        (e: Error) => e,
      );
      // The shared .caffemodel files were re-encoded, so they are not the published bytes: refused, and removed.
      expect(err?.message).toMatch(
        new RegExp(
          `preset ${name.replace('.', '\\.')}: .*\\.caffemodel: downloaded from .* but its SHA-1 is [0-9a-f]{40}, expected ${MODEL_PRESETS[name].files[2].sha1}`,
        ),
      );
      expect((await readdir(join(cache, 'models', name))).sort()).toEqual(['deploy.prototxt', 'synset_words.txt']);
    }
  });

  it('refuses a prototxt describing another network', async () => {
    const cache = join(tmp, 'real-wrong');
    files.set('/wrong/bvlc_googlenet/deploy.prototxt', await readFile(join(A.dir!, 'models', 'squeezenet_v1.1', 'deploy.prototxt')));
    await expect(resolvePreset('bvlc_googlenet', { assetsDir: null, baseUrl: `${base}/wrong`, cacheDir: cache, quiet: true })).rejects.toThrow(
      /deploy\.prototxt: downloaded from .* but its architecture fingerprint is [0-9a-f]{64}, expected/,
    );
    expect(await readdir(join(cache, 'models', 'bvlc_googlenet'))).toEqual([]);
  });

  it('normalises text the same whatever the line ends', () => {
    expect(normaliseText('a  \r\nb\r\n\r\n')).toBe('a\nb\n');
  });
});

describe('downloadFile against a misbehaving server', () => {
  // Each path misbehaves in its own way; `hits` counts the attempts. All bounded: a stalled
  // response is closed when the client gives up, and the client makes at most `attempts` requests.
  const body = bytes(50_000, 9);
  const fast = { idleMs: 300, backoffMs: 10, attempts: 3, quiet: true, sha256: sha('sha256', body) };
  let flakyCount = 0;
  beforeAll(() => {
    const half = (res: ServerResponse) => {
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length / 2));
    };
    // Half the body, then nothing: the client's idle timeout must end it (the socket closes with it).
    special.set('/stall', (req, res) => {
      half(res);
      req.socket.once('close', () => res.destroy());
    });
    // Half the body, then the connection is cut.
    special.set('/drop', (req, res) => {
      half(res);
      setTimeout(() => req.socket.destroy(), 20);
    });
    // Cut on the first request, whole on the next.
    special.set('/flaky', (req, res) => {
      if (flakyCount++ === 0) {
        half(res);
        setTimeout(() => req.socket.destroy(), 20);
      } else {
        res.writeHead(200, { 'content-length': body.length });
        res.end(body);
      }
    });
    special.set('/busy', (_req, res) => {
      res.writeHead(503);
      res.end('busy');
    });
  });
  const count = (p: string) => hits.filter((h) => h === p).length;

  it('gives up on a stalled connection after the idle timeout, retries, then fails in one line', async () => {
    const dest = join(tmp, 'stall', 'w.bin');
    const before = count('/stall');
    await expect(downloadFile(`${base}/stall`, dest, fast)).rejects.toThrow(/^cannot download .*\/stall: no data for 0\.3 s \(gave up after 3 attempts\)$/);
    expect(count('/stall') - before).toBe(3);
    expect(await readdir(join(tmp, 'stall'))).toEqual([]); // no temp file left behind
  });

  it('retries a dropped connection and a 503, and says how far it got', async () => {
    await expect(downloadFile(`${base}/drop`, join(tmp, 'drop', 'w.bin'), fast)).rejects.toThrow(/connection (lost|closed) after 25000 (of 50000 )?bytes/);
    await expect(downloadFile(`${base}/busy`, join(tmp, 'busy', 'w.bin'), fast)).rejects.toThrow(/HTTP 503 .*gave up after 3 attempts/);
    expect(await readdir(join(tmp, 'drop'))).toEqual([]);
  });

  it('a connection cut once is restarted cleanly and the file is complete and verified', async () => {
    const dest = join(tmp, 'flaky', 'w.bin');
    await downloadFile(`${base}/flaky`, dest, fast);
    expect((await readFile(dest)).equals(body)).toBe(true);
    expect(count('/flaky')).toBe(2);
    expect(await readdir(join(tmp, 'flaky'))).toEqual(['w.bin']);
  });

  it('does not retry a 404 or a file that fails its checksum', async () => {
    const before = hits.length;
    await expect(downloadFile(`${base}/nope`, join(tmp, 'n', 'x.bin'), fast)).rejects.toThrow(/HTTP 404/);
    expect(hits.length - before).toBe(1);
    files.set('/bad.bin', bytes(100, 1));
    await expect(downloadFile(`${base}/bad.bin`, join(tmp, 'n', 'bad.bin'), { ...fast, sha256: '0'.repeat(64) })).rejects.toThrow(/SHA-256/);
    expect(hits.filter((h) => h === '/bad.bin')).toHaveLength(1);
  });
});
