import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { cropOffset, decodeImage, decodeRgb, resizeCropBilinear, rgbToInput } from '../../pipeline/image/decode.ts';
import type { Preprocess } from '../../pipeline/graph/types.ts';

const CAFFE: Preprocess = { size: [224, 224], resize: [256, 256], channelOrder: 'BGR', mean: [104, 117, 123], std: [1, 1, 1], scale: 1 };

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'decode-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const solid = (w: number, h: number, channels: 1 | 2 | 3 | 4, px: number[]) =>
  sharp(Buffer.from(Array.from({ length: w * h }, () => px).flat()), { raw: { width: w, height: h, channels } });

async function save(name: string, img: sharp.Sharp): Promise<string> {
  const path = join(dir, name);
  await img.toFile(path);
  return path;
}

/** Mean of one RGB channel over a rectangle of an RGB image. */
function meanOf(img: { rgb: Uint8Array; width: number }, c: number, x0: number, y0: number, x1: number, y1: number): number {
  let s = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += img.rgb[(y * img.width + x) * 3 + c];
  return s / ((x1 - x0) * (y1 - y0));
}

/** A real 16-bit-per-channel RGB PNG, written by hand (sharp writes 8-bit values into 16-bit PNGs unscaled). */
function png16(w: number, h: number, values: number[]): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(td));
    return Buffer.concat([len, td, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = 16; // bit depth
  ihdr[9] = 2; // RGB
  const rows: Buffer[] = [];
  for (let y = 0; y < h; y++) {
    const row = Buffer.alloc(1 + w * 6);
    for (let i = 0; i < w * 3; i++) row.writeUInt16BE(values[(y * w * 3 + i) % values.length], 1 + i * 2);
    rows.push(row);
  }
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

describe('preprocessing arithmetic', () => {
  it('crops at Caffe offsets', () => {
    expect(cropOffset(CAFFE)).toEqual([16, 16]);
    expect(cropOffset({ size: [227, 227], resize: [256, 256] })).toEqual([14, 14]);
  });
  it('turns RGB into BGR minus mean, /std, ×scale', () => {
    const rgb = new Uint8Array([255, 0, 10]);
    expect([...rgb2(rgb, CAFFE)]).toEqual([10 - 104, 0 - 117, 255 - 123]);
    expect([...rgb2(rgb, { channelOrder: 'RGB', mean: [0.485, 0.456, 0.406], std: [0.5, 0.25, 0.125], scale: 1 / 255 })].map((v) => +v.toFixed(4))).toEqual([
      +((1 - 0.485) / 0.5).toFixed(4),
      +((0 - 0.456) / 0.25).toFixed(4),
      +((10 / 255 - 0.406) / 0.125).toFixed(4),
    ]);
  });
  const rgb2 = (rgb: Uint8Array, p: Parameters<typeof rgbToInput>[1]) => rgbToInput(rgb, p);

  it('resizes bilinearly without antialiasing, in OpenCV INTER_LINEAR coordinates (half-pixel centres, clamped edges)', () => {
    const gray = (vals: number[]) => new Uint8Array(vals.flatMap((v) => [v, v, v]));
    const row = (out: Uint8Array) => [...out].filter((_, i) => i % 3 === 0);
    // Up 2 → 4: source x = (x + 0.5)/2 − 0.5 = −0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
    expect(row(resizeCropBilinear(gray([0, 100]), 2, 1, 3, { resize: [1, 4], top: 0, left: 0, size: [1, 4] }))).toEqual([0, 25, 75, 100]);
    // Down 4 → 2: source x = 0.5 and 2.5, the mean of pixel pairs (no wider filter).
    expect(row(resizeCropBilinear(gray([0, 10, 100, 200]), 4, 1, 3, { resize: [1, 2], top: 0, left: 0, size: [1, 2] }))).toEqual([5, 150]);
    // Down 8 → 2 samples at 1.5 and 5.5: pixels 0 and 7 never contribute.
    expect(row(resizeCropBilinear(gray([255, 0, 0, 0, 0, 0, 0, 255]), 8, 1, 3, { resize: [1, 2], top: 0, left: 0, size: [1, 2] }))).toEqual([0, 0]);
    // A window of the resized image, one channel replicated.
    expect([...resizeCropBilinear(new Uint8Array([0, 100]), 2, 1, 1, { resize: [1, 4], top: 0, left: 1, size: [1, 2] })]).toEqual([25, 25, 25, 75, 75, 75]);
  });
});

describe('image decoding', () => {
  it('resizes to 256×256 ignoring aspect and crops the centre exactly (R = x, G = y marker image)', async () => {
    const w = 256;
    const px: number[] = [];
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) px.push(x, y, 7);
    const file = await save('grid.png', sharp(Buffer.from(px), { raw: { width: w, height: w, channels: 3 } }).png());
    const img = await decodeRgb(file, { size: [227, 227], resize: [256, 256] });
    expect([img.width, img.height]).toEqual([227, 227]);
    expect([...img.rgb.subarray(0, 3)]).toEqual([14, 14, 7]);
    const last = (226 * 227 + 226) * 3;
    expect([...img.rgb.subarray(last, last + 3)]).toEqual([240, 240, 7]);
    expect(img.original).toEqual({ width: 256, height: 256 });

    // A 512×128 image is squashed, not cropped to its aspect: the crop's left column comes from x ≈ 32 (of 512).
    const px2: number[] = [];
    for (let y = 0; y < 128; y++) for (let x = 0; x < 512; x++) px2.push(x >> 1, 0, 0);
    const wide = await save('wide.png', sharp(Buffer.from(px2), { raw: { width: 512, height: 128, channels: 3 } }).png());
    const sq = await decodeRgb(wide, CAFFE);
    expect(Math.abs(meanOf(sq, 0, 0, 0, 1, 224) - 16.25)).toBeLessThan(1.5);
    expect(Math.abs(meanOf(sq, 0, 223, 0, 224, 224) - 239.75)).toBeLessThan(1.5);
  });

  it('gives the network input in BGR minus the mean, plus the RGB crop, from one decode', async () => {
    const file = await save('red.png', solid(300, 200, 3, [250, 20, 5]).png());
    const d = await decodeImage(file, CAFFE);
    expect(d.input.length).toBe(224 * 224 * 3);
    expect([...d.input.subarray(0, 3)]).toEqual([5 - 104, 20 - 117, 250 - 123]);
    expect([...d.rgb.subarray(0, 3)]).toEqual([250, 20, 5]);
    expect(d.file).toBe(file);
  });

  it('replicates grayscale into 3 channels (8-bit and grey+alpha)', async () => {
    const g = await decodeRgb(await save('gray.png', solid(64, 80, 1, [77]).png()), CAFFE);
    expect(new Set(g.rgb)).toEqual(new Set([77]));
    const ga = await decodeRgb(await save('gray-alpha.png', solid(64, 64, 2, [40, 255]).png()), CAFFE);
    expect(new Set(ga.rgb)).toEqual(new Set([40]));
    const gj = await decodeRgb(await save('gray.jpg', solid(64, 64, 1, [200]).jpeg({ quality: 100 })), CAFFE);
    expect(Math.abs(meanOf(gj, 0, 0, 0, 224, 224) - 200)).toBeLessThan(1);
    expect(meanOf(gj, 0, 0, 0, 224, 224)).toBe(meanOf(gj, 2, 0, 0, 224, 224));
  });

  it('flattens transparency onto white', async () => {
    const half = await decodeRgb(await save('alpha.png', solid(50, 50, 4, [255, 0, 0, 128]).png()), CAFFE);
    const [r, g, b] = [0, 1, 2].map((c) => meanOf(half, c, 0, 0, 224, 224));
    expect(r).toBe(255);
    expect(Math.abs(g - 127)).toBeLessThanOrEqual(1);
    expect(Math.abs(b - 127)).toBeLessThanOrEqual(1);
    const clear = await decodeRgb(await save('clear.png', solid(50, 50, 4, [0, 0, 0, 0]).png()), CAFFE);
    expect(new Set(clear.rgb)).toEqual(new Set([255]));
  });

  it('applies the EXIF orientation', async () => {
    // Stored 400×200, left half black, right half white; EXIF orientation 6 = rotate 90° clockwise to display,
    // so the displayed image is 200×400 with black on top.
    const px: number[] = [];
    for (let y = 0; y < 200; y++) for (let x = 0; x < 400; x++) px.push(...(x < 200 ? [0, 0, 0] : [255, 255, 255]));
    const file = await save(
      'rotated.jpg',
      sharp(Buffer.from(px), { raw: { width: 400, height: 200, channels: 3 } })
        .jpeg({ quality: 95 })
        .withMetadata({ orientation: 6 }),
    );
    expect((await sharp(file).metadata()).orientation).toBe(6);
    const img = await decodeRgb(file, CAFFE);
    expect(img.original).toEqual({ width: 200, height: 400 });
    expect(meanOf(img, 0, 0, 0, 224, 90)).toBeLessThan(10);
    expect(meanOf(img, 0, 0, 134, 224, 224)).toBeGreaterThan(245);
  });

  it('reduces 16-bit PNGs to 8 bits', async () => {
    const file = join(dir, 'deep.png');
    await writeFile(file, png16(8, 8, [0, 257 * 10, 65535]));
    expect((await sharp(file).metadata()).depth).toBe('ushort');
    const img = await decodeRgb(file, CAFFE);
    expect([...img.rgb.subarray(0, 3)]).toEqual([0, 10, 255]);
  });

  it('reads WebP, GIF and TIFF', async () => {
    for (const [name, img] of [
      ['c.webp', solid(40, 40, 3, [10, 200, 90]).webp({ lossless: true })],
      ['c.gif', solid(40, 40, 3, [255, 0, 0]).gif()],
      ['c.tiff', solid(40, 40, 3, [10, 200, 90]).tiff()],
    ] as const) {
      const d = await decodeRgb(await save(name, img), CAFFE);
      const want = name === 'c.gif' ? [255, 0, 0] : [10, 200, 90];
      expect([0, 1, 2].map((c) => Math.round(meanOf(d, c, 0, 0, 224, 224)))).toEqual(want);
    }
  });
});

describe('image decoding errors name the file', () => {
  it('missing file, folder, empty file', async () => {
    await expect(decodeRgb(join(dir, 'nope.jpg'), CAFFE)).rejects.toThrow(/nope\.jpg: no such image file/);
    const sub = join(dir, 'a-folder.jpg');
    await mkdir(sub, { recursive: true });
    await expect(decodeRgb(sub, CAFFE)).rejects.toThrow(/a-folder\.jpg: is a folder/);
    await writeFile(join(dir, 'empty.jpg'), '');
    await expect(decodeRgb(join(dir, 'empty.jpg'), CAFFE)).rejects.toThrow(/empty\.jpg: cannot decode image \(empty file\)/);
  });
  it('a text file named .jpg, a truncated JPEG', async () => {
    await writeFile(join(dir, 'text.jpg'), 'this is not an image\n');
    await expect(decodeRgb(join(dir, 'text.jpg'), CAFFE)).rejects.toThrow(/text\.jpg: cannot decode image \(not a supported image format\)/);
    const px = Buffer.from(Array.from({ length: 300 * 300 * 3 }, (_, i) => (i * 7919) % 251));
    const jpg = await sharp(px, { raw: { width: 300, height: 300, channels: 3 } })
      .jpeg({ quality: 90 })
      .toBuffer();
    await writeFile(join(dir, 'cut.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
    const err = await decodeRgb(join(dir, 'cut.jpg'), CAFFE).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.name).toBe('UserError');
    expect(err?.message).toMatch(/cut\.jpg: cannot decode image \(/);
    expect(err?.message).not.toContain('\n');
  });
  it('refuses images over the pixel limit before decoding them', async () => {
    const file = await save('big.png', solid(200, 100, 3, [1, 2, 3]).png());
    process.env.DEEPVIS_MAX_PIXELS = '10000';
    try {
      await expect(decodeRgb(file, CAFFE)).rejects.toThrow(
        /big\.png: image has more than 10,000 pixels \(refused as a possible decompression bomb; set DEEPVIS_MAX_PIXELS/,
      );
    } finally {
      delete process.env.DEEPVIS_MAX_PIXELS;
    }
    expect((await readFile(file)).length).toBeGreaterThan(0);
  });
});
