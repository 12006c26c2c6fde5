// --json: one summary object on stdout (machine-readable), progress on stderr, for the commands
// that compute (scan, optimize) and the site build; here on a tiny random-weight model.
import { spawnSync } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writePhotos, writeTinyModel } from './helpers/scan-fixture.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/dev.mjs');
const deepvis = (...args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DEEPVIS_QUIET: '' } });

let work: string;
let model: string;
let photos: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'deepvis-json-'));
  model = await writeTinyModel(work);
  photos = join(work, 'photos');
  await writePhotos(photos, 6);
});

describe('--json summaries', () => {
  it('scan, optimize and site build each print exactly one JSON object on stdout', () => {
    const data = join(work, 'data');
    const common = ['--model', model, '--random-weights', '3', '--data', data, '--backend', 'wasm', '--workers', '0', '--json'];
    const s = deepvis('scan', ...common, '--images', photos, '--layers', 'conv1,fc3', '--top', '2', '--units', '0-1');
    expect(s.status, s.stderr).toBe(0);
    const scan = JSON.parse(s.stdout);
    expect(scan).toMatchObject({ images: 6, scanned: 6, skipped: [] });
    expect(scan.render.maps).toBeGreaterThan(0);
    expect(s.stderr).toMatch(/scan \[/); // progress stayed on stderr

    const o = deepvis('optimize', ...common, '--layers', 'fc3', '--units', '0', '--seeds', '1', '--steps', '2', '--presets', 'p3');
    expect(o.status, o.stderr).toBe(0);
    expect(JSON.parse(o.stdout)).toMatchObject({ total: 1, done: 1, backend: 'wasm' });
    const again = deepvis('optimize', ...common, '--layers', 'fc3', '--units', '0', '--seeds', '1', '--steps', '2', '--presets', 'p3');
    expect(JSON.parse(again.stdout)).toMatchObject({ total: 1, done: 0 });

    const b = deepvis('site', 'build', '--data', data, '--dist', join(work, 'dist'), '--json');
    expect(b.status, b.stderr).toBe(0);
    const report = JSON.parse(b.stdout);
    expect(report).toMatchObject({ out: join(work, 'dist'), base: '/', units: 4 });
    expect(report.ms.total).toBeGreaterThan(0);
    for (const out of [s.stdout, o.stdout, b.stdout]) expect(out.trim().split('\n')).toHaveLength(1);
  }, 300_000);
});
