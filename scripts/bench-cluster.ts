/**
 * One gallery on one process vs the same gallery on a BullMQ queue with 3 worker processes (on
 * this machine: the cores are shared, so ≈ 1× is the expectation), and the queue's overhead per
 * job: the same queue run again on a fresh database over a data folder that already holds
 * everything, so every job only checks its outputs — (wall time) ÷ (jobs) — and a bare BullMQ
 * round trip (no-op jobs through one worker).
 *
 *   DEEPVIS_ASSETS=../shared node bin/run-ts.mjs scripts/bench-cluster.ts [--images 100] [--workers 3]
 *
 * Prints a Markdown table (npm run bench collects it).
 */
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import { startRedis } from '../tests/helpers/redis.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/dev.mjs');
const argv = process.argv.slice(2);
const arg = (name: string, def: number) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const IMAGES = arg('images', 100);
const WORKERS = arg('workers', 3);
const assets = process.env.DEEPVIS_ASSETS;
if (!assets) {
  console.error('bench-cluster: set DEEPVIS_ASSETS to the shared assets folder');
  process.exit(2);
}

const tmp = mkdtempSync(join(tmpdir(), 'deepvis-bench-cluster-'));
const photos = join(tmp, 'photos');
mkdirSync(photos);
const sample = join(assets, 'images', 'imagenet-sample');
for (const f of readdirSync(sample).sort().slice(0, IMAGES)) copyFileSync(join(sample, f), join(photos, f));
const env = { ...process.env, DEEPVIS_QUIET: '1' };
const settings = (dir: string) => [
  ...['--model', join(assets, 'models', 'squeezenet_v1.1'), '--images', photos, '--layers', 'conv1,fire9/concat,pool10'],
  ...['--seeds', '2', '--steps', '32', '--chunk', '32', '--data', join(dir, 'data'), '--dist', join(dir, 'dist')],
];

function timed(args: string[]): number {
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [CLI, ...args], { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`deepvis ${args[0]} failed: ${r.stderr}`);
  return Date.now() - t0;
}

async function queued(dir: string, url: string): Promise<number> {
  const t0 = Date.now();
  const run = (args: string[]) =>
    new Promise<void>((resolve, reject) => {
      const c = spawn(process.execPath, [CLI, ...args], { env, stdio: 'ignore' });
      c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`deepvis ${args[0]} exit ${code}`))));
    });
  const coordinator = run(['run', ...settings(dir), '--queue', url]);
  await new Promise((r) => setTimeout(r, 500));
  await Promise.all([coordinator, ...Array.from({ length: WORKERS }, () => run(['worker', '--queue', url, '--workers', '1']))]);
  return Date.now() - t0;
}

async function bareRoundTrip(url: string, n: number): Promise<number> {
  const u = new URL(url);
  const connection = { host: u.hostname, port: Number(u.port), db: Number(u.pathname.slice(1)), maxRetriesPerRequest: null };
  const q = new Queue('bench', { connection });
  await q.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'noop', data: { i }, opts: { jobId: `noop-${i}` } })));
  let done = 0;
  const t0 = Date.now();
  const w = new Worker('bench', async () => 'ok', { connection, concurrency: 1 });
  await new Promise<void>((resolve) => w.on('completed', () => ++done === n && resolve()));
  const ms = Date.now() - t0;
  await w.close();
  await q.close();
  return ms / n;
}

const redis = await startRedis();
try {
  const load = loadavg()[0].toFixed(2);
  const one = timed(['run', ...settings(join(tmp, 'one'))]);
  const queue = await queued(join(tmp, 'queue'), redis.url(0));
  // Overhead: a fresh queue over the finished data folder (every job finds its outputs).
  const again = await queued(join(tmp, 'queue'), redis.url(1));
  const status = JSON.parse(spawnSync(process.execPath, [CLI, 'status', '--queue', redis.url(1), '--json'], { env, encoding: 'utf8' }).stdout) as {
    stages: Record<string, { done: number }>;
  };
  const jobCount = Object.values(status.stages).reduce((a, s) => a + s.done, 0);
  const bare = await bareRoundTrip(redis.url(3), 500);
  console.log(`SqueezeNet, ${IMAGES} photos, 3 layers (12 units), 2 seeds × 32 steps, chunks of 32; ${WORKERS} workers with 1 net thread each; load ${load}\n`);
  console.log('| measure | value | target |');
  console.log('|---|---|---|');
  console.log(`| one process (deepvis run) | ${(one / 1000).toFixed(1)} s | |`);
  console.log(`| queue, ${WORKERS} workers (coordinator start → site built) | ${(queue / 1000).toFixed(1)} s | |`);
  console.log(`| one process ÷ queue | ${(one / queue).toFixed(2)}× | ≈ 1× on a shared 2-core box |`);
  console.log(
    `| queue over finished data: ${jobCount} jobs | ${(again / 1000).toFixed(1)} s → ${(again / jobCount).toFixed(0)} ms per job (process starts included) | |`,
  );
  console.log(`| bare BullMQ round trip (500 no-op jobs, 1 worker) | ${bare.toFixed(2)} ms per job | |`);
} finally {
  await redis.stop();
  rmSync(tmp, { recursive: true, force: true });
}
