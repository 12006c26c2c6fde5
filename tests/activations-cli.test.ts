import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireAssets } from './helpers/assets.ts';
import { readNpy, writeNpy } from '../pipeline/io/npy.ts';
import { runCli } from './reference/cli.ts';

const A = requireAssets();
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'act-cli-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe.skipIf(!A.dir)(`deepvis activations ${A.skipReason ?? ''}`, () => {
  const model = () => join(A.dir!, 'models', 'squeezenet_v1.1');

  it('takes an image, writes NCHW float32 blobs with / as __, atomically', async () => {
    const out = join(tmp, 'img');
    const img = join(A.dir!, 'images', 'imagenet-sample', 'n01518878_ostrich.JPEG');
    const res = await runCli(['activations', '--model', model(), '--input', img, '--blobs', 'fire2/concat,prob,conv1', '--out', out]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['conv1.npy', 'fire2__concat.npy', 'prob.npy']);
    expect((await readNpy(join(out, 'conv1.npy'))).shape).toEqual([1, 64, 113, 113]);
    expect((await readNpy(join(out, 'fire2__concat.npy'))).shape).toEqual([1, 128, 56, 56]);
    const prob = await readNpy(join(out, 'prob.npy'));
    expect(prob.shape).toEqual([1, 1000, 1, 1]);
    const p = [...prob.data];
    expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(p.indexOf(Math.max(...p))).toBe(9); // ostrich
  }, 120_000);

  it('unknown blob: one-line error listing similar blobs, exit 2', async () => {
    const res = await runCli(['activations', '--model', model(), '--input', 'x.npy', '--blobs', 'conv1,fire9', '--out', join(tmp, 'x')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /^deepvis activations: unknown blob "fire9" in squeezenet_v1\.1 \(similar: fire9\/squeeze1x1, fire9\/expand1x1, fire9\/expand3x3, fire9\/concat; see deepvis inspect\)\n$/,
    );
  }, 60_000);

  it('a .npy of the wrong shape, a missing input, a corrupt image: one-line errors, exit 2', async () => {
    const bad = join(tmp, 'bad.npy');
    await writeNpy(bad, new Float32Array(3 * 10 * 10), [1, 3, 10, 10]);
    let res = await runCli(['activations', '--model', model(), '--input', bad, '--blobs', 'conv1', '--out', join(tmp, 'y')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^deepvis activations: .*bad\.npy: shape \(1, 3, 10, 10\) does not fit squeezenet_v1\.1: expected N×3×227×227/);
    res = await runCli(['activations', '--model', model(), '--input', join(tmp, 'none.png'), '--blobs', 'conv1', '--out', join(tmp, 'y')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/none\.png: no such image file\n$/);
    await writeFile(join(tmp, 'text.jpg'), 'hello');
    res = await runCli(['activations', '--model', model(), '--input', join(tmp, 'text.jpg'), '--blobs', 'conv1', '--out', join(tmp, 'y')]);
    expect(res.code).toBe(2);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/text\.jpg: cannot decode image/);
  }, 120_000);
});
