/**
 * `--queue redis://[user:password@]host[:port][/db]` (or rediss:// for TLS): parsed, then checked
 * by connecting once — unreachable, refused or too old (BullMQ needs Redis ≥ 6.2) are one-line
 * UserErrors, never an endless reconnect loop.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { UserError } from '../../core/errors.ts';

export interface QueueAddress {
  /** As given, without the password (for messages). */
  shown: string;
  options: RedisOptions;
}

export function parseQueueUrl(url: string): QueueAddress {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--queue: "${url}" is not a URL (expected redis://host:port/db)`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') throw new UserError(`--queue: expected a redis:// or rediss:// URL, got "${u.protocol}//…"`);
  if (!u.hostname) throw new UserError(`--queue: "${url}" names no host (expected redis://host:port/db)`);
  const port = u.port ? Number(u.port) : 6379;
  const path = u.pathname.replace(/^\//, '');
  if (path && !/^\d+$/.test(path)) throw new UserError(`--queue: the database must be a number (redis://host:port/0), got "/${path}"`);
  if (u.search || u.hash) throw new UserError(`--queue: "${url}": no query or fragment expected (redis://host:port/db)`);
  const options: RedisOptions = {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port,
    db: path ? Number(path) : 0,
    // BullMQ's workers block on Redis: no per-command retry limit (it would fail their long waits).
    maxRetriesPerRequest: null,
  };
  if (u.username) options.username = decodeURIComponent(u.username);
  if (u.password) options.password = decodeURIComponent(u.password);
  if (u.protocol === 'rediss:') options.tls = {};
  const shown = `${u.protocol}//${u.username ? `${u.username}@` : ''}${u.host}/${options.db}`;
  return { shown, options };
}

const MIN_VERSION = [6, 2];

/** Connects once with no retries: a UserError when Redis cannot be reached or is older than 6.2. */
export async function checkRedis(addr: QueueAddress): Promise<string> {
  const client = new Redis({
    ...addr.options,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5000,
    enableOfflineQueue: false,
  });
  // The socket's error (connect() itself only says "Connection is closed").
  let cause: NodeJS.ErrnoException | undefined;
  client.on('error', (e: NodeJS.ErrnoException) => void (cause ??= e));
  try {
    await client.connect();
    const info = await client.info('server');
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? '0';
    const [maj, min] = version.split('.').map(Number);
    if (maj < MIN_VERSION[0] || (maj === MIN_VERSION[0] && min < MIN_VERSION[1])) {
      throw new UserError(`${addr.shown}: Redis ${version} is too old (the queue needs Redis ≥ 6.2)`);
    }
    return version;
  } catch (e) {
    if (e instanceof UserError) throw e;
    const err = cause ?? (e as NodeJS.ErrnoException);
    const why = err.code ?? err.message?.split('\n')[0] ?? String(e);
    throw new UserError(`cannot reach Redis at ${addr.shown} (${why})`);
  } finally {
    client.disconnect();
  }
}
