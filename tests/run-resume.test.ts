/**
 * `deepvis run` killed with SIGKILL in the middle of optimize and again in the middle of the scan,
 * then rerun, must give the same site as an uninterrupted run (same seeds): every file of dist/ byte-identical, nothing lost or corrupt.
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
      else
        out.set(
          relative(dir, p),
          createHash('sha1')
            .update(await readFile(p))
            .digest('hex'),
        );
    }
  };
  await walk(dir);
  return out;
}

function args(root: string, photos: string): string[] {
  return [
    'run',
    '--model',
    join(A.dir!, 'models/squeezenet_v1.1'),
    '--images',
    photos,
    '--layers',
    'pool10',
    '--data',
    join(root, 'data'),
    '--dist',
    join(root, 'dist'),
  ];
}

/** Files under `dir` (recursively) whose names match `re`; 0 when `dir` does not exist yet. */
async function countFiles(dir: string, re: RegExp): Promise<number> {
  const names = await readdir(dir, { recursive: true }).catch(() => [] as string[]);
  return names.filter((n) => re.test(n.split('/').pop()!)).length;
}

/**
 * Starts `deepvis run`, waits until at least `atLeast` files matching `re` exist under its data
 * folder (a stage has written finished work), kills it with SIGKILL at once, and returns how many
 * such files there were once it was dead.
 */
async function killAfter(argv: string[], data: string, re: RegExp, atLeast: number): Promise<number> {
  const child = spawn(process.execPath, ['bin/dev.mjs', ...argv], { cwd: process.cwd(), env: { ...process.env, DEEPVIS_QUIET: '1' }, stdio: 'ignore' });
  const closed = new Promise((r) => child.on('close', r));
  let exited = false;
  void closed.then(() => (exited = true));
  while (!exited && (await countFiles(data, re)) < atLeast) await new Promise((r) => setTimeout(r, 20));
  child.kill('SIGKILL');
  await closed;
  return countFiles(data, re);
}

describe.skipIf(!A.dir)(`deepvis run survives kill -9 ${A.skipReason ?? ''}`, () => {
  it('killed mid-optimize and mid-scan then rerun, the site equals an uninterrupted run; a further rerun recomputes nothing', async () => {
    const tmp = await mkdtemp(join(tmpdir(), 'deepvis-resume-'));
    const photos = join(tmp, 'photos');
    await mkdir(photos);
    const all = (await readdir(join(A.dir!, 'images/imagenet-sample'))).sort();
    for (const f of all.filter((_, i) => i % 84 === 0)) await symlink(join(A.dir!, 'images/imagenet-sample', f), join(photos, f));

    const clean = join(tmp, 'clean');
    const r1 = await runCli(args(clean, photos));
    expect(r1.code, r1.stderr).toBe(0);
    const optTotal = await countFiles(join(clean, 'data'), /^opt-.*\.webp$/);
    const patchTotal = await countFiles(join(clean, 'data'), /^max-\d+\.webp$/);
    expect(optTotal).toBeGreaterThanOrEqual(4);
    expect(patchTotal).toBeGreaterThanOrEqual(9);

    // Kill 1: once the third optimised image is written; it must land before optimize finished.
    const killed = join(tmp, 'killed');
    const data = join(killed, 'data');
    const opt = await killAfter(args(killed, photos), data, /^opt-.*\.webp$/, 3);
    expect(opt, 'the first kill landed inside optimize').toBeGreaterThanOrEqual(3);
    expect(opt, 'the first kill landed inside optimize').toBeLessThan(optTotal);
    expect(await countFiles(data, /^max-/)).toBe(0);

    // Kill 2: on the resumed run, once the first patch of the render step is written; mid-scan.
    const patches = await killAfter(args(killed, photos), data, /^max-\d+\.webp$/, 1);
    expect(patches, "the second kill landed inside the scan's render step").toBeGreaterThanOrEqual(1);
    expect(patches, "the second kill landed inside the scan's render step").toBeLessThan(patchTotal);
    expect(await countFiles(data, /^opt-.*\.webp$/)).toBe(optTotal);
    expect(await countFiles(killed, /^index\.html$/)).toBe(0); // the site was never built

    const r2 = await runCli(args(killed, photos));
    expect(r2.code, r2.stderr).toBe(0);

    const a = await treeHashes(join(clean, 'dist'));
    const b = await treeHashes(join(killed, 'dist'));
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    const differing = [...a].filter(([k, h]) => b.get(k) !== h).map(([k]) => k);
    expect(differing).toEqual([]);

    const r3 = await runCli(args(killed, photos), { DEEPVIS_QUIET: '' });
    expect(r3.code, r3.stderr).toBe(0);
    expect(r3.stdout + r3.stderr).toMatch(/0 images computed/);
    expect(r3.stdout + r3.stderr).toMatch(/site: up to date|up to date/);
  }, 900_000);
});
