import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { createGunzip } from 'node:zlib';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { UserError } from '../core/errors.ts';
import { TarMemberWriter } from './tar.ts';

/** What a downloaded file must be. Every check given must pass; at least one should be given. */
export interface Integrity {
  sha1?: string;
  sha256?: string;
  size?: number;
  /** A content check run on the finished temp file (e.g. a parsed-structure fingerprint); throws on mismatch. */
  check?: (path: string) => Promise<void>;
}

export interface DownloadOptions extends Integrity {
  /** Extract this member of a .tar.gz instead of saving the response itself. */
  tarMember?: string;
  /** Progress line label (default: the destination's file name). */
  label?: string;
  quiet?: boolean;
  /** Give an attempt up after this long without a byte (default $DEEPVIS_DOWNLOAD_IDLE_S seconds, else 30 s). */
  idleMs?: number;
  /** Attempts in all before giving up (default 4). */
  attempts?: number;
  /** Wait before the first retry, doubled for each next one (default 1 s). */
  backoffMs?: number;
}

/** A failure worth another attempt: the network, the server (5xx, 429), a stall, a cut connection. */
class TransientError extends Error {}

const idleDefault = () => {
  const s = Number(process.env.DEEPVIS_DOWNLOAD_IDLE_S);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 30_000;
};

/**
 * Downloads `url` to `dest`: streamed into a temp file next to it, checked (size, hashes, content
 * check), then renamed into place, so `dest` only ever holds a complete, verified file. A stalled
 * (no byte for `idleMs`), refused or cut connection, or a 5xx/429 answer, is retried from scratch
 * after a growing pause, up to `attempts` times; a 4xx answer or a file that fails its checks is
 * not retried. Every failure is a UserError; the temp file is removed. Progress goes to stderr.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const attempts = opts.attempts ?? 4;
  const label = opts.label ?? basename(dest);
  const quiet = opts.quiet ?? Boolean(process.env.DEEPVIS_QUIET);
  let wait = opts.backoffMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await attemptDownload(url, dest, { ...opts, label, quiet });
    } catch (e) {
      if (!(e instanceof TransientError)) throw e;
      if (attempt >= attempts) throw new UserError(`cannot download ${url}: ${e.message} (gave up after ${attempts} attempts)`);
      if (!quiet)
        process.stderr.write(`downloading ${label}: ${e.message}; retrying in ${(wait / 1000).toFixed(1)} s (attempt ${attempt + 1} of ${attempts})\n`);
      await new Promise((r) => setTimeout(r, wait));
      wait *= 2;
    }
  }
}

/** One attempt, from scratch; `label` and `quiet` already resolved by downloadFile. */
async function attemptDownload(url: string, dest: string, opts: DownloadOptions & { label: string; quiet: boolean }): Promise<void> {
  const { label } = opts;
  const idleMs = opts.idleMs ?? idleDefault();
  await mkdir(dirname(dest), { recursive: true });
  const tmp = `${dest}.${process.pid}.${randomBytes(4).toString('hex')}.part`;
  const progress = new ByteProgress(label, opts.quiet);
  // The idle watchdog: reset by every chunk; when it fires the request and its body are aborted.
  const abort = new AbortController();
  let stalled = false;
  let timer: NodeJS.Timeout | undefined;
  const poke = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      stalled = true;
      abort.abort();
    }, idleMs);
  };
  const stallMessage = () => `no data for ${(idleMs / 1000).toFixed(idleMs < 1000 ? 1 : 0)} s`;
  try {
    poke();
    let res: Response;
    try {
      res = await fetch(url, { redirect: 'follow', signal: abort.signal });
    } catch (e) {
      if (stalled) throw new TransientError(stallMessage());
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new TransientError(cause?.code ?? cause?.message ?? (e as Error).message);
    }
    if (!res.ok || !res.body) {
      const what = `HTTP ${res.status} ${res.statusText}`.trim();
      if (res.status >= 500 || res.status === 429) throw new TransientError(what);
      throw new UserError(`cannot download ${url} (${what})`);
    }
    const total = Number(res.headers.get('content-length')) || undefined;
    progress.start(total);

    const sha1 = createHash('sha1');
    const sha256 = createHash('sha256');
    let size = 0;
    let received = 0;
    const out = createWriteStream(tmp);
    const hashing = new Writable({
      write(chunk: Buffer, _enc, cb) {
        sha1.update(chunk);
        sha256.update(chunk);
        size += chunk.length;
        if (out.write(chunk)) cb();
        else out.once('drain', () => cb());
      },
      final(cb) {
        out.end(cb);
      },
    });
    const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
    body.on('data', (chunk: Buffer) => {
      poke();
      received += chunk.length;
      progress.add(chunk.length);
    });
    try {
      if (opts.tarMember) {
        const member = new TarMemberWriter(opts.tarMember, hashing);
        await pipeline(body, createGunzip(), member);
        if (!member.found) throw new UserError(`${url}: the archive has no member "${opts.tarMember}"`);
      } else {
        await pipeline(body, hashing);
      }
    } catch (e) {
      if (e instanceof UserError) throw e;
      if (stalled) throw new TransientError(stallMessage());
      throw new TransientError(`connection lost after ${received} bytes (${(e as Error).message})`);
    }
    clearTimeout(timer);
    if (total !== undefined && received !== total) throw new TransientError(`connection closed after ${received} of ${total} bytes`);
    progress.done();

    const fail = (what: string) => new UserError(`${label}: downloaded from ${url} but ${what}; the file was removed`);
    if (opts.size !== undefined && size !== opts.size) throw fail(`its size is ${size} bytes, expected ${opts.size}`);
    const got1 = sha1.digest('hex');
    const got256 = sha256.digest('hex');
    if (opts.sha1 && got1 !== opts.sha1.toLowerCase()) throw fail(`its SHA-1 is ${got1}, expected ${opts.sha1}`);
    if (opts.sha256 && got256 !== opts.sha256.toLowerCase()) throw fail(`its SHA-256 is ${got256}, expected ${opts.sha256}`);
    if (opts.check) {
      try {
        await opts.check(tmp);
      } catch (e) {
        throw fail((e as Error).message);
      }
    }
    await rename(tmp, dest);
  } catch (e) {
    progress.abort();
    await rm(tmp, { force: true });
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

export async function fileSize(path: string): Promise<number | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? s.size : undefined;
  } catch {
    return undefined;
  }
}

/** `label 12.3/51.1 MB 24%` on stderr: redrawn in place on a TTY, else a line every 5 s and at the end. */
class ByteProgress {
  private total?: number;
  private got = 0;
  private last = 0;
  private readonly tty = Boolean(process.stderr.isTTY);
  private readonly t0 = Date.now();
  constructor(
    private readonly label: string,
    private readonly quiet: boolean,
  ) {}

  start(total?: number): void {
    this.total = total;
    this.draw(true);
  }
  add(n: number): void {
    this.got += n;
    this.draw(false);
  }
  done(): void {
    this.draw(true);
    if (!this.quiet && this.tty) process.stderr.write('\n');
  }
  abort(): void {
    if (!this.quiet && this.tty && this.last) process.stderr.write('\n');
  }
  private draw(force: boolean): void {
    if (this.quiet) return;
    const now = Date.now();
    if (!force && now - this.last < (this.tty ? 200 : 5000)) return;
    this.last = now;
    const mb = (n: number) => (n / 1e6).toFixed(1);
    const s = (now - this.t0) / 1000;
    const rate = s > 0 ? ` ${mb(this.got / s)} MB/s` : '';
    const of = this.total ? `/${mb(this.total)} MB ${Math.floor((100 * this.got) / this.total)}%` : ' MB';
    const line = `downloading ${this.label} ${mb(this.got)}${of}${rate}`;
    process.stderr.write(this.tty ? `\r\x1b[2K${line}` : `${line}\n`);
  }
}
