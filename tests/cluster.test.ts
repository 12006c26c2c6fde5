/**
 * One gallery over many processes: array-job shards + merge, and a BullMQ queue on a real Redis
 * with three workers, one of them killed (SIGKILL) while it holds a job. Both must give, byte for
 * byte, the records and images of one `deepvis run` with the same settings (SqueezeNet, a few
 * units per layer, 2 seeds, 100 photos in 4 scan chunks).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireAssets } from './helpers/assets.ts';
import { requireRedis, startRedis, type RedisServer } from './helpers/redis.ts';

const assets = requireAssets();
const redisNeed = requireRedis();
const skip = assets.skipReason ?? redisNeed.skipReason;
const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/dev.mjs');
// A lost worker's job goes back to the queue once its lock lapses: 5 s here instead of 30 s.
const env = { ...process.env, DEEPVIS_QUIET: '1', DEEPVIS_QUEUE_LOCK_MS: '5000' };

let tmp: string;
let photos: string;
let redis: RedisServer;

const settings = (dir: string) => [
  '--model',
  join(assets.dir ?? '', 'models', 'squeezenet_v1.1'),
  '--images',
  photos,
  '--layers',
  'conv1,fire9/concat,pool10',
  '--seeds',
  '2',
  '--steps',
  '8',
  '--chunk',
  '32',
  '--data',
  join(dir, 'data'),
  '--dist',
  join(dir, 'dist'),
];

function cli(args: string[], extraEnv: Record<string, string> = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: tmp, env: { ...env, ...extraEnv }, encoding: 'utf8' });
}

interface Proc {
  child: ChildProcess;
  out: string;
  exit: Promise<number | null>;
}

function start(args: string[], extraEnv: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [CLI, ...args], { cwd: tmp, env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = { child, out: '', exit: new Promise((r) => child.on('exit', (code) => r(code))) };
  child.stdout!.on('data', (d) => (p.out += d));
  child.stderr!.on('data', (d) => (p.out += d));
  return p;
}

async function until(what: string, cond: () => boolean, ms = 300_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every file of the gallery content (records and images), path → bytes; resumable state left out. */
function content(dir: string): Map<string, Buffer> {
  const root = join(dir, 'data');
  const out = new Map<string, Buffer>();
  for (const e of readdirSync(root, { withFileTypes: true, recursive: true })) {
    const p = join(e.parentPath, e.name);
    const rel = relative(root, p);
    if (e.isFile() && !rel.split('/').includes('state')) out.set(rel, readFileSync(p));
  }
  return out;
}

function expectSameContent(dir: string, reference: Map<string, Buffer>) {
  const got = content(dir);
  expect([...got.keys()].sort()).toEqual([...reference.keys()].sort());
  for (const [k, v] of reference) expect(got.get(k)!.equals(v), k).toBe(true);
}

describe.skipIf(!!skip)(`a gallery over many processes ${skip ?? ''}`, () => {
  let reference: Map<string, Buffer>;

  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'deepvis-cluster-'));
    photos = join(tmp, 'photos');
    mkdirSync(photos);
    const sample = join(assets.dir!, 'images', 'imagenet-sample');
    for (const f of readdirSync(sample).sort().slice(0, 100)) copyFileSync(join(sample, f), join(photos, f));
    redis = await startRedis();
    const r = cli(['run', ...settings(join(tmp, 'one'))]);
    expect(r.status, r.stderr).toBe(0);
    reference = content(join(tmp, 'one'));
    // 12 units: records (scan part + 2 optimised images each) and their images
    expect([...reference.keys()].filter((k) => k.endsWith('/scan.json'))).toHaveLength(12);
    expect([...reference.keys()].filter((k) => /opt-fourier-\d\.webp$/.test(k))).toHaveLength(24);
  }, 600_000);

  afterAll(async () => {
    await redis?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('--shard K/3 as three processes, then --merge: the same bytes as one process, and a site', async () => {
    const dir = join(tmp, 'shards');
    const early = cli(['run', ...settings(dir), '--merge']);
    expect(early.status).toBe(2);
    expect(early.stderr.trim()).toMatch(
      /^deepvis run: --merge: the shards have not finished: missing 24 optimised image\(s\) .* and scan chunk\(s\) 0, 1, 2, 3 of 4; run every shard/,
    );
    const shards = [0, 1, 2].map((k) => start(['run', ...settings(dir), '--shard', `${k}/3`, '--workers', '1']));
    for (const s of shards) expect(await s.exit, s.out).toBe(0);
    const merge = cli(['run', ...settings(dir), '--merge']);
    expect(merge.status, merge.stderr).toBe(0);
    expectSameContent(dir, reference);
    expect(existsSync(join(dir, 'dist', 'index.html'))).toBe(true);
  }, 600_000);

  it('a queue with three workers, one killed mid-job: the run completes with the same bytes, no job completed twice', async () => {
    const dir = join(tmp, 'queue');
    const url = redis.url(0);
    const coordinator = start(['run', ...settings(dir), '--queue', url], { DEEPVIS_QUIET: '' });
    await until('the coordinator to queue the run', () => /deepvis worker --queue/.test(coordinator.out) || coordinator.child.exitCode !== null);
    const workers = [0, 1, 2].map(() => start(['worker', '--queue', url, '--workers', '1']));
    // Kill the first worker that starts an optimize job (each takes seconds): it dies holding it.
    let victim = -1;
    let held = '';
    await until('a worker to start an optimize job', () => {
      victim = workers.findIndex((w) => /start optimize-\d+\n/.test(w.out));
      return victim >= 0;
    });
    held = /start (optimize-\d+)\n/.exec(workers[victim].out)![1];
    workers[victim].child.kill('SIGKILL');
    expect(await coordinator.exit, coordinator.out).toBe(0);
    for (const [i, w] of workers.entries()) if (i !== victim) expect(await w.exit, w.out).toBe(0);
    await workers[victim].exit;

    expectSameContent(dir, reference);
    expect(existsSync(join(dir, 'dist', 'index.html'))).toBe(true);
    // Each job completed once: the killed worker's job by another worker, and nothing twice.
    const done = workers.flatMap((w) => [...w.out.matchAll(/done (\S+) in /g)].map((m) => m[1]));
    expect(done.sort()).toEqual([...new Set(done)].sort());
    expect(done).toContain(held);
    expect(workers[victim].out).not.toMatch(new RegExp(`done ${held} `));
    expect(new Set(done).size).toBe(4 + 4 + 1 + 1 + 4 + 1); // optimize, scan, merge, gather, render, site

    const status = cli(['status', '--queue', url, '--json']);
    expect(status.status, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { stages: Record<string, { done: number; failed: number; waiting: number }>; failed: unknown[] };
    expect(Object.fromEntries(Object.entries(s.stages).map(([k, v]) => [k, v.done]))).toEqual({
      scan: 4,
      merge: 1,
      optimize: 4,
      gather: 1,
      render: 4,
      site: 1,
    });
    expect(s.failed).toEqual([]);
    // Rerun after the fact: nothing to do.
    const again = cli(['run', ...settings(dir), '--queue', url]);
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/already done/);
  }, 600_000);

  it('a job that fails every attempt is reported with its error; the coordinator exits 1', async () => {
    const dir = join(tmp, 'failing');
    const url = redis.url(1);
    // A file where the first conv1 unit's parts folder must go: its optimize job cannot write.
    mkdirSync(join(dir, 'data', 'squeezenet_v1.1', 'units', 'conv1'), { recursive: true });
    spawnSync('sh', ['-c', `printf x > ${join(dir, 'data', 'squeezenet_v1.1', 'units', 'conv1', '16')}`]);
    const coordinator = start(['run', ...settings(dir), '--queue', url], { DEEPVIS_QUIET: '' });
    await until('the coordinator to queue the run', () => /deepvis worker --queue/.test(coordinator.out) || coordinator.child.exitCode !== null);
    const worker = start(['worker', '--queue', url, '--workers', '1']);
    expect(await coordinator.exit, coordinator.out).toBe(1);
    // conv1 unit 16's optimize batch and the scan's merge (its scan part) both write there
    expect(coordinator.out).toMatch(/failed: optimize-0 after 3 attempt\(s\): .*(ENOTDIR|EEXIST)/);
    expect(coordinator.out).toMatch(/failed: merge after 3 attempt\(s\): .*(ENOTDIR|EEXIST)/);
    expect(coordinator.out).toMatch(/deepvis run: 2 job\(s\) failed every attempt \(listed above\)/);
    worker.child.kill('SIGKILL');
    await worker.exit;
  }, 600_000);

  it('bad queues: unreachable, not a Redis URL, another run unfinished, another deepvis version: one line, exit 2', async () => {
    const down = cli(['status', '--queue', 'redis://127.0.0.1:1/0']);
    expect([down.status, down.stderr.trim()]).toEqual([2, 'deepvis status: cannot reach Redis at redis://127.0.0.1:1/0 (ECONNREFUSED)']);
    const bad = cli(['worker', '--queue', 'http://127.0.0.1:6379']);
    expect([bad.status, bad.stderr.trim()]).toEqual([2, 'deepvis worker: --queue: expected a redis:// or rediss:// URL, got "http://…"']);
    // db 2: a run queued (no worker takes it), then a different one on the same queue
    const dir = join(tmp, 'other');
    const url = redis.url(2);
    const first = start(['run', ...settings(dir), '--queue', url], { DEEPVIS_QUIET: '' });
    await until('the coordinator to queue the run', () => /deepvis worker --queue/.test(first.out) || first.child.exitCode !== null);
    first.child.kill('SIGKILL');
    await first.exit;
    const other = cli(['run', ...settings(dir), '--seeds', '1', '--queue', url]);
    expect(other.status).toBe(2);
    expect(other.stderr.trim()).toMatch(
      /^deepvis run: redis:\/\/127\.0\.0\.1:\d+\/2 holds an unfinished run \(model squeezenet_v1\.1 with other images, layers or settings\): let it finish, or use another database/,
    );
    // a worker of another version is refused
    const meta = JSON.parse(redis.cli('-n', '2', 'hget', 'deepvis:run', 'json'));
    redis.cli('-n', '2', 'hset', 'deepvis:run', 'json', JSON.stringify({ ...meta, version: '0.0.1-other' }));
    const w = cli(['worker', '--queue', url]);
    expect(w.status).toBe(2);
    expect(w.stderr.trim()).toMatch(
      /^deepvis worker: redis:\/\/127\.0\.0\.1:\d+\/2 holds a run made by deepvis 0\.0\.1-other; this worker is deepvis \d+\.\d+\.\d+/,
    );
  }, 300_000);
});
