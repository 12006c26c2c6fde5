/**
 * An ONNX model through the CLI and the model loader: inspect (table and JSON, receptive fields),
 * classify with labels, optimize and scan end to end; preprocessing defaults, sidecar and
 * --preprocess specs; bad files and unsupported operators as one-line errors with exit code 2.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fg from 'fast-glob';
import { loadModel } from '../pipeline/import/load.ts';
import { parsePreprocessFlag } from '../pipeline/graph/preprocess.ts';
import { tinyClassifierOnnx } from './helpers/onnx-models.ts';
import { writePhotos } from './helpers/scan-fixture.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/dev.mjs');
const run = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DEEPVIS_QUIET: '1' } });

let work: string;
let modelDir: string;

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'deepvis-onnx-cli-'));
  modelDir = join(work, 'tinynet');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'tinynet.onnx'), tinyClassifierOnnx().bytes);
  writeFileSync(join(modelDir, 'labels.txt'), Array.from({ length: 10 }, (_, i) => `class ${i}`).join('\n') + '\n');
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('ONNX models in the CLI', () => {
  it('inspect: blobs named as the ONNX tensors, shapes, units, receptive fields', () => {
    const r = run('inspect', '--model', modelDir, '--json');
    expect(r.status, r.stderr).toBe(0);
    const rep = JSON.parse(r.stdout) as {
      input: { shape: number[] };
      blobs: { name: string; type: string; shape: number[]; units: number; rf: { size: number[]; stride: number[] } }[];
    };
    expect(rep.input.shape).toEqual([3, 64, 64]);
    const blob = (n: string) => rep.blobs.find((b) => b.name === n)!;
    expect(rep.blobs.map((b) => b.name)).toEqual(['input', 'conv1', 'bn1', 'relu1', 'pool1', 'conv2', 'relu6', 'gap', 'flat', 'fc', 'prob']);
    expect(blob('conv1')).toMatchObject({ shape: [8, 32, 32], units: 8, rf: { size: [5, 5], stride: [2, 2] } });
    expect(blob('pool1')).toMatchObject({ shape: [8, 16, 16], rf: { size: [9, 9], stride: [4, 4] } });
    expect(blob('conv2').rf.size).toEqual([17, 17]);
    expect(blob('fc')).toMatchObject({ shape: [10], rf: { size: [64, 64] } });
    const table = run('inspect', '--model', join(modelDir, 'tinynet.onnx'));
    expect(table.status).toBe(0);
    expect(table.stdout).toMatch(/conv2\s+conv\s+16×16×16\s+16\s+17\s+4/);
  });

  it('an unsupported operator, a truncated file and a missing file are one-line errors (exit 2)', () => {
    const bad = join(work, 'bad.onnx');
    writeFileSync(bad, tinyClassifierOnnx(3, { extraOp: 'GridSample' }).bytes);
    let r = run('inspect', '--model', bad);
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/node "\/features\/odd" \(GridSample\): operator not supported/);
    const trunc = join(work, 'trunc.onnx');
    writeFileSync(trunc, tinyClassifierOnnx().bytes.subarray(0, 3000));
    r = run('inspect', '--model', trunc);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/trunc\.onnx: not a valid ONNX protobuf/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    r = run('inspect', '--model', join(work, 'missing.onnx'));
    expect(r.status).toBe(2);
  });

  it('classify, optimize and scan run end to end', async () => {
    const photos = join(work, 'photos');
    await writePhotos(photos, 4, 7);
    let r = run('classify', '--model', modelDir, '--json', '--top', '3', '--backend', 'wasm', photos);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    expect(lines[0].top[0].label).toMatch(/^class \d$/);
    const out = join(work, 'data');
    r = run(
      'optimize',
      '--model',
      modelDir,
      '--layers',
      'conv2,fc',
      '--units',
      '0-1',
      '--seeds',
      '1',
      '--steps',
      '5',
      '--workers',
      '0',
      '--backend',
      'wasm',
      '--data',
      out,
    );
    expect(r.status, r.stderr).toBe(0);
    expect(await fg('tinynet/img/{conv2,fc}/*/*.webp', { cwd: out })).toHaveLength(4);
    r = run('scan', '--model', modelDir, '--images', photos, '--layers', 'conv2,fc', '--top', '2', '--workers', '0', '--backend', 'wasm', '--data', out);
    expect(r.status, r.stderr).toBe(0);
    expect(existsSync(join(out, 'tinynet', 'units', 'fc', '9', 'scan.json'))).toBe(true);
  }, 240_000);
});

describe('preprocessing of imported models', () => {
  it('ONNX defaults to PyTorch ImageNet preprocessing', async () => {
    const m = await loadModel(modelDir);
    expect(m.preprocess).toEqual({
      size: [64, 64],
      resize: [73, 73],
      channelOrder: 'RGB',
      scale: 1 / 255,
      mean: [0.485, 0.456, 0.406],
      std: [0.229, 0.224, 0.225],
    });
    expect(m.labels).toHaveLength(10);
    expect(m.id).toBe('tinynet');
  });

  it('a sidecar sets the size of symbolic inputs and the preprocessing; --preprocess overrides it', async () => {
    const dir = join(work, 'symbolic');
    mkdirSync(dir);
    writeFileSync(join(dir, 'net.onnx'), tinyClassifierOnnx(3, { symbolicSize: true }).bytes);
    await expect(loadModel(dir)).rejects.toThrow(/axis 2 is symbolic \("H"\)/);
    writeFileSync(join(dir, 'net.deepvis.json'), JSON.stringify({ preprocess: { preset: 'caffe', inputShape: [3, 96, 80], resize: [100, 90] } }));
    let m = await loadModel(dir);
    expect(m.graph.input.shape).toEqual([3, 96, 80]);
    expect(m.preprocess).toEqual({ size: [96, 80], resize: [100, 90], channelOrder: 'BGR', scale: 1, mean: [104, 117, 123], std: [1, 1, 1] });
    m = await loadModel(dir, { preprocess: await parsePreprocessFlag('preset=unit;std=0.5,0.5,0.5') });
    expect(m.preprocess).toMatchObject({ channelOrder: 'RGB', scale: 1 / 255, mean: [0, 0, 0], std: [0.5, 0.5, 0.5], resize: [100, 90] });
    writeFileSync(join(dir, 'net.deepvis.json'), JSON.stringify({ preprocess: { chanelOrder: 'RGB' } }));
    await expect(loadModel(dir)).rejects.toThrow(/unknown preprocess key "chanelOrder"/);
    await expect(parsePreprocessFlag('pytorch')).resolves.toEqual({ preset: 'pytorch' });
    await expect(parsePreprocessFlag('scale')).rejects.toThrow(/not key=value/);
  });

  it('--preprocess on the commands: changes what the net sees, is recorded for the probe, and is refused for Caffe models', async () => {
    const photos = join(work, 'photos-pre');
    await writePhotos(photos, 2, 11);
    const probs = (...extra: string[]) => {
      const r = run('classify', '--model', modelDir, '--json', '--top', '10', '--backend', 'wasm', '--workers', '1', ...extra, photos);
      expect(r.status, r.stderr).toBe(0);
      return r.stdout
        .trim()
        .split('\n')
        .map((l) =>
          JSON.parse(l)
            .top.map((t: { prob: number }) => t.prob.toFixed(6))
            .join(','),
        );
    };
    const pytorch = probs();
    expect(probs('--preprocess', 'pytorch')).toEqual(pytorch);
    expect(probs('--preprocess', 'preset=raw;resize=64,64')).not.toEqual(pytorch);
    let r = run('inspect', '--model', modelDir, '--preprocess', 'preset=raw;scale');
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--preprocess: "scale" is not key=value/);
    r = run('inspect', '--model', join(ROOT, 'tests'), '--preprocess', 'caffe');
    expect(r.status).toBe(2);
    const caffeDir = join(work, 'caffe');
    mkdirSync(caffeDir);
    writeFileSync(
      join(caffeDir, 'deploy.prototxt'),
      'name: "t"\ninput: "data"\ninput_dim: 1\ninput_dim: 3\ninput_dim: 8\ninput_dim: 8\nlayer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 3 } }\n',
    );
    r = run('inspect', '--model', caffeDir, '--preprocess', 'caffe');
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--preprocess applies to ONNX and TF\.js models/);

    const out = join(work, 'data-pre');
    r = run(
      'optimize',
      '--model',
      modelDir,
      '--layers',
      'fc',
      '--units',
      '0',
      '--seeds',
      '1',
      '--steps',
      '2',
      '--workers',
      '0',
      '--backend',
      'wasm',
      '--data',
      out,
      '--preprocess',
      'preset=raw;resize=64,64',
    );
    expect(r.status, r.stderr).toBe(0);
    const rec = JSON.parse(readFileSync(join(out, 'tinynet', 'model.json'), 'utf8'));
    expect(rec.preprocess).toEqual({ preset: 'raw', resize: [64, 64] });
    const { exportModelsForSite } = await import('../pipeline/site/export/probe-networks.ts');
    const dist = join(work, 'dist-pre');
    await exportModelsForSite(out, dist, { quiet: true });
    const topo = JSON.parse(readFileSync((await fg('**/model.json', { cwd: dist, absolute: true }))[0], 'utf8'));
    expect(JSON.stringify(topo)).toContain('"resize":[64,64]');
    expect(JSON.stringify(topo)).toContain('"mean":[0,0,0]');
  }, 240_000);
});
