/**
 * A real Redis for a test: Debian's redis-server on a free loopback port (never a fixed one), no
 * persistence, stopped by `stop()`. Under CI a missing redis-server is an error (.ci/run installs
 * it); elsewhere the tests that need it are skipped with the reason.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

const SERVER = '/usr/bin/redis-server';

export function requireRedis(): { skipReason?: string } {
  if (existsSync(SERVER)) return {};
  if (process.env.CI) throw new Error(`${SERVER} is missing: CI must install Debian's redis-server (.ci/run does)`);
  return { skipReason: '(skipped: redis-server is not installed: apt-get install redis-server)' };
}

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

export interface RedisServer {
  port: number;
  url: (db?: number) => string;
  /** redis-cli against this server. */
  cli: (...args: string[]) => string;
  stop: () => Promise<void>;
}

export async function startRedis(): Promise<RedisServer> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const child: ChildProcess = spawn(SERVER, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const cli = (...args: string[]) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout.trim();
    for (let i = 0; i < 100 && cli('ping') !== 'PONG' && child.exitCode === null; i++) await new Promise((r) => setTimeout(r, 50));
    if (cli('ping') === 'PONG') {
      return {
        port,
        url: (db = 0) => `redis://127.0.0.1:${port}/${db}`,
        cli,
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    }
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error(`redis-server did not start on 127.0.0.1:${port}`);
  }
}
