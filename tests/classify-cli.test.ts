import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { requireAssets } from './helpers/assets.ts';
import { runCli } from './reference/cli.ts';

const A = requireAssets();
let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'classify-cli-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

type Line = { file: string; top: { index: number; label: string; prob: number }[] };
const parse = (stdout: string): Line[] =>
  stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));

describe.skipIf(!A.dir)(`deepvis classify ${A.skipReason ?? ''}`, () => {
  const model = () => join(A.dir!, 'models', 'squeezenet_v1.1');
  const photo = () => join(A.dir!, 'images', 'imagenet-sample', 'n01518878_ostrich.JPEG');

  it('grayscale, alpha and EXIF-rotated versions of a photo classify like the photo; output in input order', async () => {
    const p = photo();
    const gray = join(tmp, 'gray.png');
    const gray3 = join(tmp, 'gray3.png');
    const alpha = join(tmp, 'alpha.png');
    const opaque = join(tmp, 'opaque.png');
    const rotated = join(tmp, 'rotated.jpg');
    const upright = join(tmp, 'upright.jpg');
    await sharp(p).grayscale().png().toFile(gray); // 1 channel
    await sharp(p).grayscale().toColourspace('srgb').png().toFile(gray3); // the same grey in 3 channels
    await sharp(p).ensureAlpha(1).png().toFile(alpha); // RGBA, fully opaque
    await sharp(p).png().toFile(opaque);
    // Stored turned 90° anticlockwise, with EXIF orientation 6 (display: turn 90° clockwise): displays upright.
    await sharp(p).rotate(270).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toFile(rotated);
    await sharp(p).jpeg({ quality: 95 }).toFile(upright);

    const files = [gray, upright, alpha, rotated, gray3, opaque];
    const res = await runCli(['classify', '--model', model(), '--json', '--top', '3', '--batch', '4', ...files]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = parse(res.stdout);
    expect(out.map((l) => l.file)).toEqual(files);
    const by = Object.fromEntries(out.map((l) => [l.file, l.top]));
    expect(by[gray3][0].label).toMatch(/ostrich/);
    expect(by[gray]).toEqual(by[gray3]); // grey replicated exactly
    expect(by[alpha]).toEqual(by[opaque]); // opaque alpha removed exactly
    expect(by[rotated][0].index).toBe(by[upright][0].index); // orientation applied
    expect(Math.abs(by[rotated][0].prob - by[upright][0].prob)).toBeLessThan(0.05);
    expect(by[upright][0].label).toMatch(/ostrich/);
  }, 180_000);

  it('text output: file, then ranked classes', async () => {
    const res = await runCli(['classify', '--model', model(), '--top', '2', photo()]);
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(photo());
    expect(lines[1]).toMatch(/^\s+1\.\s+\d+\.\d\d%\s+9\s+ostrich, Struthio camelus$/);
    expect(lines[2]).toMatch(/^\s+2\.\s+\d+\.\d\d%\s+\d+\s+\S/);
  }, 120_000);

  it('a missing image, a text file named .jpg, a truncated JPEG: one-line error naming the file, exit 2', async () => {
    const text = join(tmp, 'notes.jpg');
    await writeFile(text, 'not a picture\n');
    const cut = join(tmp, 'cut.jpg');
    const jpg = await readFile(photo());
    await writeFile(cut, jpg.subarray(0, Math.floor(jpg.length * 0.6)));
    for (const [bad, message] of [
      [join(tmp, 'missing.jpg'), /missing\.jpg: no such image file or folder/],
      [text, /notes\.jpg: cannot decode image \(not a supported image format\)/],
      [cut, /cut\.jpg: cannot decode image \(/],
    ] as const) {
      const res = await runCli(['classify', '--model', model(), '--json', photo(), bad]);
      expect(res.code, res.stderr).toBe(2);
      expect(res.stderr).toMatch(/^deepvis classify: [^\n]*\n$/);
      expect(res.stderr).toMatch(message);
    }
  }, 300_000);

  it('no images matched, bad flags: one-line errors, exit 2', async () => {
    let res = await runCli(['classify', '--model', model(), join(tmp, '*.nothing')]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/^deepvis classify: no images matched .*\n$/);
    res = await runCli(['classify', '--model', model(), '--top', '0', photo()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--top must be an integer ≥ 1/);
    res = await runCli(['classify', photo()]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--model is required/);
  }, 120_000);
});
