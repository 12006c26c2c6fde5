/**
 * `deepvis optimize` end to end on a tiny random-weight Caffe model: records and WebPs, resume,
 * byte-identical images whatever the batch or worker, and `kill -9` mid-run followed by a rerun.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { writeTinyModel } from './helpers/scan-fixture.ts';
import { readUnitRecord } from '../pipeline/content/unit-store.ts';
import type { UnitRecord } from '../pipeline/content/types.ts';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'dev.mjs');
const env = { ...process.env, DEEPVIS_QUIET: '1' };
let tmp: string;
let modelDir: string;

const args = (out: string, extra: string[] = []) => [
  BIN,
  'optimize',
  '--model',
  modelDir,
  '--random-weights',
  '3',
  '--layers',
  'fc3,conv2',
  '--units',
  '0-2',
  '--seeds',
  '2',
  '--presets',
  'p3,fourier',
  '--steps',
  '6',
  '--data',
  out,
  '--backend',
  'wasm',
  ...extra,
];
const optimize = (out: string, extra: string[] = []) => run(process.execPath, args(out, extra), { cwd: ROOT, env });

function files(dir: string, ext: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile() && e.name.endsWith(ext)) out.push(join(e.parentPath, e.name));
  return out.sort();
}

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'deepvis-opt-'));
  modelDir = await writeTinyModel(join(tmp, 'tiny'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('deepvis optimize (CLI)', () => {
  it('writes model.json, one record per unit and one WebP per (preset, seed) at the input size', async () => {
    const out = join(tmp, 'a');
    await optimize(out, ['--workers', '0']);
    const model = JSON.parse(readFileSync(join(out, 'tiny', 'model.json'), 'utf8'));
    expect(model.layers.map((l: { name: string }) => l.name)).toEqual(expect.arrayContaining(['conv1', 'pool1', 'conv2', 'fc3', 'prob']));
    expect(model.layers.find((l: { name: string }) => l.name === 'fc3').classLayer).toBe(true);
    expect(files(join(out, 'tiny', 'img'), '.webp')).toHaveLength(2 * 3 * 2 * 2);
    for (const layer of ['fc3', 'conv2']) {
      for (const unit of [0, 1, 2]) {
        const rec = (await readUnitRecord(out, 'tiny', layer, unit)) as UnitRecord & { optimized: Record<string, unknown>[] };
        expect(rec).toMatchObject({ model: 'tiny', layer, layerSlug: layer, unit });
        expect(rec.optimized).toHaveLength(4);
        for (const o of rec.optimized) {
          expect(o).toMatchObject({ steps: 6, objective: 'center', lr_mode: 'calibrated', backend: 'wasm' });
          for (const k of ['activation', 'start_activation', 'best_activation', 'final_activation']) expect(typeof o[k]).toBe('number');
          expect(o.best_activation as number).toBeGreaterThanOrEqual(o.start_activation as number);
          const meta = await sharp(join(out, o.file as string)).metadata();
          expect([meta.format, meta.width, meta.height]).toEqual(['webp', 48, 48]);
        }
        if (layer === 'fc3') expect(rec.label).toBe(`class ${unit}`);
      }
    }
  }, 120_000);

  it('resumes: a second run does nothing; a deleted image is the only one redone', async () => {
    const out = join(tmp, 'a');
    const before = files(out, '.webp').map((f) => [f, statSync(f).mtimeMs] as const);
    const r1 = await optimize(out, ['--workers', '0']);
    expect(r1.stderr).toMatch(/nothing to do/);
    const gone = join(out, 'tiny', 'img', 'conv2', '1', 'opt-p3-0.webp');
    const bytes = readFileSync(gone);
    rmSync(gone);
    await optimize(out, ['--workers', '0']);
    expect(readFileSync(gone).equals(bytes)).toBe(true); // same seed + backend → same bytes
    for (const [f, t] of before) if (f !== gone) expect(statSync(f).mtimeMs).toBe(t);
  }, 120_000);

  it('gives byte-identical images whatever the batch composition and worker', async () => {
    const a = join(tmp, 'a');
    const b = join(tmp, 'b');
    await optimize(b, ['--workers', '2', '--batch', '1']);
    const fa = files(a, '.webp');
    expect(fa.length).toBe(24);
    for (const f of fa) expect(readFileSync(f.replace(a, b)).equals(readFileSync(f)), f).toBe(true);
  }, 180_000);

  it('kill -9 mid-run leaves only complete files; the rerun does just the missing work', async () => {
    const out = join(tmp, 'k');
    const child = spawn(process.execPath, args(out, ['--workers', '0', '--batch', '2', '--steps', '40']), { cwd: ROOT, env, stdio: 'ignore' });
    const recs = join(out, 'tiny', 'units');
    const t0 = Date.now();
    while (files(recs, '.json').length < 3 && Date.now() - t0 < 90_000) await new Promise((r) => setTimeout(r, 50));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('exit', r));
    const doneBefore = files(recs, '.json').filter((f) => /opt-[^/]+\.json$/.test(f)).length;
    expect(doneBefore).toBeGreaterThan(0);
    expect(doneBefore).toBeLessThan(24);
    for (const f of files(join(out, 'tiny', 'img'), '.webp')) await sharp(f).raw().toBuffer(); // every visible image decodes
    const r = await run(process.execPath, args(out, ['--workers', '0', '--batch', '2', '--steps', '40']), { cwd: ROOT, env: { ...env, DEEPVIS_QUIET: '' } });
    const m = /optimize: (\d+) images \((\d+) already done\)/.exec(r.stderr);
    expect(m, r.stderr).not.toBeNull();
    expect(Number(m![1])).toBe(24 - doneBefore);
    expect(Number(m![2])).toBe(doneBefore);
    expect(files(join(out, 'tiny', 'img'), '.tmp')).toEqual([]);
  }, 180_000);
});
