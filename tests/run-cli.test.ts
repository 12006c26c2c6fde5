import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireAssets } from './helpers/assets.ts';
import { runCli } from './reference/cli.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { defaultLayers } from '../pipeline/gallery/layers.ts';
import { validateConfig } from '../pipeline/gallery/config.ts';
import { PROFILE_TABLE, selectUnits } from '../pipeline/gallery/profiles.ts';

const A = requireAssets();
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'deepvis-run-'));
});

/** One line on stderr, exit code 2, no stack trace. */
function expectOneLineError(r: { code: number | null; stderr: string }, pattern: RegExp) {
  expect(r.code).toBe(2);
  const lines = r.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('deepvis run: bad input is a one-line error with exit code 2', () => {
  it('a model path that does not exist', async () => {
    const imgs = join(tmp, 'imgs');
    await mkdir(imgs, { recursive: true });
    expectOneLineError(await runCli(['run', '--model', join(tmp, 'no-such-model'), '--images', imgs]), /model not found/);
  });
  it('an unknown profile', async () => {
    expectOneLineError(await runCli(['run', '--model', 'x', '--images', tmp, '--profile', 'fast']), /unknown profile "fast"/);
  });
  it('an unknown key in the config file', async () => {
    const cfg = join(tmp, 'bad.json');
    await writeFile(cfg, JSON.stringify({ model: 'squeezenet_v1.1', imagez: 'x' }));
    expectOneLineError(await runCli(['run', '--config', cfg]), /unknown key "imagez"/);
  });
  it('a config file that is not JSON', async () => {
    const cfg = join(tmp, 'broken.json');
    await writeFile(cfg, '{ "model": ');
    expectOneLineError(await runCli(['run', '--config', cfg]), /not valid JSON/);
  });
  it.skipIf(!A.dir)(`an empty image folder ${A.skipReason ?? ''}`, async () => {
    const empty = join(tmp, 'empty');
    await mkdir(empty, { recursive: true });
    expectOneLineError(
      await runCli(['run', '--model', join(A.dir!, 'models/squeezenet_v1.1'), '--images', empty, '--data', join(tmp, 'data')], { DEEPVIS_ASSETS: A.dir }),
      /no image|nothing matched|no images/i,
    );
  });
});

describe('run config', () => {
  it('flags types are checked, $schema is allowed', () => {
    expect(validateConfig({ $schema: './x.json', model: 'm', images: 'dir', workers: 2 }, 'f')).toEqual({ model: 'm', images: ['dir'], workers: 2 });
    expect(() => validateConfig({ workers: -1 }, 'f')).toThrow(/workers/);
    expect(() => validateConfig([], 'f')).toThrow(/object/);
  });
});

describe.skipIf(!A.dir)(`default gallery layers ${A.skipReason ?? ''}`, () => {
  it('CaffeNet: conv1–conv5 and fc6–fc8 (10,568 units); GoogLeNet: conv1, conv2, 9 inception outputs, loss3 (6,744)', async () => {
    const caffenet = await loadModel(join(A.dir!, 'models/caffenet-yos/caffenet-yos-deploy.prototxt'), { weights: false });
    expect(defaultLayers(caffenet)).toEqual(['conv1', 'conv2', 'conv3', 'conv4', 'conv5', 'fc6', 'fc7', 'fc8']);
    const g = await loadModel(join(A.dir!, 'models/bvlc_googlenet'), { weights: false });
    const layers = defaultLayers(g);
    expect(layers).toEqual([
      'conv1/7x7_s2',
      'conv2/3x3',
      ...['3a', '3b', '4a', '4b', '4c', '4d', '4e', '5a', '5b'].map((s) => `inception_${s}/output`),
      'loss3/classifier',
    ]);
    expect(layers.reduce((n, l) => n + g.graph.blobs.find((b) => b.name === l)!.shape[0], 0)).toBe(6744);
  });
  it('the quick profile picks familiar class units (tabby cat first) and spreads hidden units', async () => {
    const g = await loadModel(join(A.dir!, 'models/bvlc_googlenet'), { weights: false });
    const cls = selectUnits(PROFILE_TABLE.quick, g, 1000, true);
    expect(cls).toContain(281);
    expect(cls).toHaveLength(PROFILE_TABLE.quick.classUnits!);
    const hidden = selectUnits(PROFILE_TABLE.quick, g, 64, false);
    expect(new Set(hidden).size).toBe(hidden.length);
    expect(Math.max(...hidden)).toBeLessThan(64);
    expect(selectUnits(PROFILE_TABLE.paper, g, 64, false)).toHaveLength(64);
  });
});
