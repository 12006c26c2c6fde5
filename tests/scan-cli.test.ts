import { describe, it, expect, beforeAll } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, readdir } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { readUnitRecord } from '../pipeline/content/unit-store.ts';
import fg from 'fast-glob';
import { writeTinyModel, writePhotos, writeBadImages } from './helpers/scan-fixture.ts';
import { decodeState } from '../pipeline/stages/scan/checkpoint.ts';
import { loadModel } from '../pipeline/import/load.ts';

const ROOT = join(import.meta.dirname, '..');
const CLI = join(ROOT, 'bin/dev.mjs');

function scanArgs(model: string, images: string, out: string, extra: string[] = []): string[] {
  return [
    CLI,
    'scan',
    '--model',
    model,
    '--random-weights',
    '3',
    '--images',
    images,
    '--layers',
    'conv1,conv2,fc3',
    '--top',
    '3',
    '--data',
    out,
    '--backend',
    'wasm',
    ...extra,
  ];
}

function runCli(args: string[]) {
  return spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, DEEPVIS_QUIET: '' } });
}

async function summaryOf(out: string): Promise<Record<string, unknown>> {
  const dir = join(out, 'tiny', 'state');
  const f = (await readdir(dir)).find((n) => n.endsWith('.summary.json'))!;
  const s = JSON.parse(await readFile(join(dir, f), 'utf8'));
  delete s.run; // timings
  return s;
}

/** Every file under the model's output folder except the state folder: relative path → bytes (base64). */
async function contentOf(out: string): Promise<Map<string, string>> {
  const files = await fg('**/*', { cwd: join(out, 'tiny'), ignore: ['state/**'] });
  const m = new Map<string, string>();
  for (const f of files.sort()) m.set(f, (await readFile(join(out, 'tiny', f))).toString('base64'));
  return m;
}

let work: string;
let model: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'deepvis-scan-'));
  model = await writeTinyModel(join(work, 'tiny'));
});

describe('deepvis scan (CLI, tiny random-weight model)', () => {
  it('survives bad images: skips and reports them, handles 16-bit, 1×1 and huge ones; patch sizes are the receptive fields', async () => {
    const images = join(work, 'mixed');
    await writePhotos(images, 10, 5);
    const expected = await writeBadImages(images);
    const out = join(work, 'out-bad');
    const r = runCli(scanArgs(model, images, out, ['--workers', '0']));
    expect(r.status, r.stderr).toBe(0);
    const s = (await summaryOf(out)) as { skipped: { file: string; reason: string }[]; scanned: number; images: number };
    const skipped = new Map(s.skipped.map((x) => [x.file, x.reason]));
    for (const [file, what] of Object.entries(expected)) {
      if (what === 'skip') expect(skipped.has(file), `${file} should be skipped`).toBe(true);
      if (what === 'handle') expect(skipped.has(file), `${file} should be scanned: ${skipped.get(file)}`).toBe(false);
      if (skipped.has(file)) expect(r.stderr).toContain(`${file}: ${skipped.get(file)}`);
    }
    expect(s.images).toBe(16);
    expect(s.scanned).toBe(16 - s.skipped.length);
    expect(r.stderr).toMatch(/skipped \d+ images?:/);

    // Records and images: patch and deconv sizes = the unit's receptive field (fc: whole input).
    const m = await loadModel(model, { weights: false });
    for (const blob of ['conv1', 'conv2', 'fc3']) {
      const info = m.graph.blobs.find((b) => b.name === blob)!;
      const rec = (await readUnitRecord(out, 'tiny', blob, 1))!;
      expect(rec.maxImages).toHaveLength(3);
      expect(rec.layer).toBe(blob);
      for (const mi of rec.maxImages) {
        for (const img of [mi.patch, mi.deconv]) {
          const meta = await sharp(join(out, img)).metadata();
          const want = info.shape.length === 3 ? info.rf.size : [48, 48];
          expect([meta.height, meta.width]).toEqual(want);
        }
        if (mi.file.startsWith('n0')) expect(mi.synset).toBe(mi.file.slice(0, 9));
        else expect(mi.synset).toBeUndefined();
      }
      if (blob === 'fc3') expect(rec.label).toBe('class 1');
    }
    // Hidden units also get classes by correlation (class units do not).
    const layers = (s as unknown as { layers: Record<string, { units: { topClasses: { source: string }[] }[] }> }).layers;
    const hasCorr = (b: string) => layers[b].units.some((u) => u.topClasses.some((t) => t.source === 'corr'));
    expect(hasCorr('conv1') && hasCorr('conv2')).toBe(true);
    expect(hasCorr('fc3')).toBe(false);
  });

  it('a scan killed halfway and rerun ends equal to an uninterrupted scan', async () => {
    const images = join(work, 'photos');
    await writePhotos(images, 160, 9);
    // Two worker threads: batches finish in any order, the result must not depend on it.
    const extra = ['--chunk', '8', '--batch', '4', '--workers', '2'];
    const whole = join(work, 'out-whole');
    const a = runCli(scanArgs(model, images, whole, extra));
    expect(a.status, a.stderr).toBe(0);

    const killed = join(work, 'out-killed');
    const stateDir = join(killed, 'tiny', 'state');
    const child = spawn(process.execPath, scanArgs(model, images, killed, extra), { cwd: ROOT, stdio: 'ignore' });
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    // Kill it once a checkpoint exists but before the scan is complete.
    let doneAtKill = -1;
    for (let i = 0; i < 3000 && doneAtKill < 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
      const f = existsSync(stateDir) ? (await readdir(stateDir)).find((n) => n.endsWith('.ckpt')) : undefined;
      if (!f) continue;
      const st = decodeState(readFileSync(join(stateDir, f)), f);
      if (st.done >= 16) {
        child.kill('SIGKILL');
        doneAtKill = st.done;
      }
    }
    await exited;
    expect(doneAtKill).toBeGreaterThan(0);
    expect(doneAtKill).toBeLessThan(160);
    const b = runCli(scanArgs(model, images, killed, extra));
    expect(b.status, b.stderr).toBe(0);
    expect(b.stderr).toContain('resumed at');
    expect(await summaryOf(killed)).toEqual(await summaryOf(whole));
    const ca = await contentOf(whole);
    const cb = await contentOf(killed);
    expect([...cb.keys()]).toEqual([...ca.keys()]);
    for (const [k, v] of ca) expect(cb.get(k), k).toBe(v);
    // A finished scan rerun does no work and changes nothing.
    const again = runCli(scanArgs(model, images, whole, extra));
    expect(again.status, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/^scan \[/m);
    expect(again.stderr).toMatch(/render deconv \[[#.]+\] 0\/0/);
    const cc = await contentOf(whole);
    for (const [k, v] of ca) expect(cc.get(k), k).toBe(v);
  });

  it('refuses a model without weights unless --random-weights is given, and unknown layers', () => {
    const r = runCli([CLI, 'scan', '--model', model, '--images', join(work, 'mixed'), '--layers', 'conv1', '--data', join(work, 'o3')]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--random-weights/);
    const r2 = runCli([
      CLI,
      'scan',
      '--model',
      model,
      '--random-weights',
      '1',
      '--images',
      join(work, 'mixed'),
      '--layers',
      'nope',
      '--data',
      join(work, 'o3'),
    ]);
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/no blob "nope"/);
  });
});
