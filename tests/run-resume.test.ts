/**
 * `deepvis run` killed with SIGKILL at a random moment, then rerun, must give the same site as an
 * uninterrupted run (same seeds): every file of dist/ byte-identical, nothing lost or corrupt.
 * A small SqueezeNet gallery (class layer only, 12 photos) keeps it short.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, symlink, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireAssets } from './helpers/assets.ts';
import { runCli } from './reference/cli.ts';

const A = requireAssets();

async function treeHashes(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(relative(dir, p), createHash('sha1').update(await readFile(p)).digest('hex'));
    }
  };
  await walk(dir);
  return out;
}

function args(root: string, photos: string): string[] {
  return ['run', '--model', join(A.dir!, 'models/squeezenet_v1.1'), '--images', photos, '--layers', 'pool10', '--out', join(root, 'data'), '--dist', join(root, 'dist')];
}

describe.skipIf(!A.dir)(`deepvis run survives kill -9 ${A.skipReason ?? ''}`, () => {
  it('killed at a random moment and rerun, the site equals an uninterrupted run; a second rerun recomputes nothing', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'deepvis-resume-'));
    const photos = join(tmp, 'photos');
    await mkdir(photos);
    const all = (await readdir(join(A.dir!, 'images/imagenet-sample'))).sort();
    for (const f of all.filter((_, i) => i % 84 === 0)) await symlink(join(A.dir!, 'images/imagenet-sample', f), join(photos, f));

    const clean = join(tmp, 'clean');
    const r1 = await runCli(args(clean, photos));
    expect(r1.code, r1.stderr).toBe(0);

    // Kill somewhere inside the work (optimize, scan or the site build), seeded for repeatability.
    const killed = join(tmp, 'killed');
    const delay = 4000 + (Date.now() % 20) * 1000;
    const child = spawn(process.execPath, ['bin/deepvis.mjs', ...args(killed, photos)], { cwd: process.cwd(), env: { ...process.env, DEEPVIS_QUIET: '1' }, stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, delay));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const r2 = await runCli(args(killed, photos));
    expect(r2.code, r2.stderr).toBe(0);

    const a = await treeHashes(join(clean, 'dist'));
    const b = await treeHashes(join(killed, 'dist'));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    const differing = [...a].filter(([k, h]) => b.get(k) !== h).map(([k]) => k);
    expect(differing, `killed after ${delay} ms`).toEqual([]);

    const r3 = await runCli(args(killed, photos), { DEEPVIS_QUIET: '' });
    expect(r3.code, r3.stderr).toBe(0);
    expect(r3.stdout + r3.stderr).toMatch(/0 images computed/);
    expect(r3.stdout + r3.stderr).toMatch(/site: up to date|up to date/);
  }, 900_000);
});
