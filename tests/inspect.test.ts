import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireAssets } from './helpers/assets.ts';
import { tempModels } from './helpers/model-dir.ts';

const BIN = resolve(__dirname, '..', 'bin', 'dev.mjs');
const A = requireAssets();
const tmp = tempModels();
afterAll(() => tmp.cleanup());

function deepvis(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 60_000, env: { ...process.env, DEEPVIS_DEBUG: '' } }, (err, stdout, stderr) => {
      done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const INPUT = 'layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: 8 dim: 8 } } }\n';

describe('deepvis inspect: bad input → one line on stderr, exit code 2', () => {
  const cases: [string, () => string[], RegExp][] = [
    [
      'a model that does not exist',
      () => ['--model', '/nonexistent/model'],
      /^deepvis inspect: model not found: \/nonexistent\/model \(expected a folder with a \.prototxt, a \.prototxt file, or a preset name: bvlc_googlenet, squeezenet_v1\.1\)$/,
    ],
    [
      'a prototxt syntax error',
      () => ['--model', tmp.dir({ 'deploy.prototxt': `${INPUT}layer {\n  name: "c"\n  type "ReLU"\n}\n` })],
      /deploy\.prototxt:4:8: expected ":" or "\{" after field "type"/,
    ],
    [
      'an unknown layer type',
      () => ['--model', tmp.dir({ 'deploy.prototxt': `${INPUT}layer { name: "foo" type: "Crop" bottom: "data" top: "foo" }\n` })],
      /layer "foo": unsupported type "Crop"$/,
    ],
    ['a missing --model', () => [], /--model is required/],
    ['an unknown option', () => ['--modle', 'x'], /^deepvis inspect: unknown option --modle \(did you mean --model\?\)/],
  ];
  for (const [what, args, re] of cases)
    it(what, async () => {
      const r = await deepvis('inspect', ...args());
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(re);
    });
});

describe.skipIf(!A.dir)(`deepvis inspect on the shared models ${A.skipReason ?? ''}`, () => {
  const caffenet = join(A.dir ?? '', 'models', 'caffenet-yos', 'caffenet-yos-deploy.prototxt');

  it('prints the CaffeNet table with shapes, units and receptive fields', async () => {
    const r = await deepvis('inspect', '--model', caffenet);
    expect(r.code).toBe(0);
    const row = (name: string) =>
      r.stdout
        .split('\n')
        .find((l) => l.startsWith(`${name} `))!
        .trim()
        .split(/\s{2,}/);
    expect(row('conv1')).toEqual(['conv1', 'conv+relu', '96×55×55', '96', '11', '4']);
    expect(row('conv5')).toEqual(['conv5', 'conv+relu', '256×13×13', '256', '163', '16']);
    expect(row('pool5')).toEqual(['pool5', 'pool', '256×6×6', '256', '195', '32']);
    expect(row('fc8')).toEqual(['fc8', 'fc', '1000', '1000', '227', '227']);
    expect(r.stdout).toContain('15 blobs, 12,531 units, 60,965,224 parameters');
  });

  it('--json prints one machine-readable report', async () => {
    const r = await deepvis('inspect', '--model', caffenet, '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.model).toBe('caffenet-yos');
    const shape = (n: string) => j.blobs.find((b: { name: string }) => b.name === n).shape.join('×');
    expect(['conv1', 'pool1', 'conv2', 'pool2', 'conv3', 'conv4', 'conv5', 'pool5', 'fc6', 'fc7', 'fc8'].map(shape)).toEqual([
      '96×55×55',
      '96×27×27',
      '256×27×27',
      '256×13×13',
      '384×13×13',
      '384×13×13',
      '256×13×13',
      '256×6×6',
      '4096',
      '4096',
      '1000',
    ]);
    const rf = (n: string) => j.blobs.find((b: { name: string }) => b.name === n).rf.size[0];
    expect(['conv1', 'conv2', 'conv3', 'conv4', 'conv5'].map(rf)).toEqual([11, 51, 99, 131, 163]);
    expect(j.totals).toEqual({ blobs: 15, units: 12531, params: 60965224 });
  });

  it('inspects a model folder with weights present (GoogLeNet) without reading them', async () => {
    const r = await deepvis('inspect', '--model', join(A.dir ?? '', 'models', 'bvlc_googlenet'), '--json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.totals.params).toBe(6998552);
    expect(j.blobs.at(-1)).toMatchObject({ name: 'prob', shape: [1000] });
  });
});
