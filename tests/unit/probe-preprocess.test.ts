/**
 * The probe's preprocessing (site/probe/pixels.ts, resize.ts) run in Node on sharp's full-size
 * decode: it must give the pipeline's network input exactly (pipeline/image/decode.ts), and the
 * libvips kernels it also reproduces must match sharp's resize pixel for pixel.
 */
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { decodeImage } from '../../pipeline/image/decode.ts';
import { pipelineResize } from '../../pipeline/site/export/export.ts';
import { prepare, rgbaToRgb } from '../../site/probe/pixels.ts';
import { resize, type Pixels, type ResizeKernel } from '../../site/probe/resize.ts';
import { requireAssets } from '../helpers/assets.ts';
import type { Preprocess } from '../../pipeline/graph/types.ts';

const A = requireAssets();
// Landscape, portrait, smaller than 256 on one side (enlarged), grayscale JPEG.
const FILES = ['n01443537_goldfish.JPEG', 'n01494475_hammerhead.JPEG', 'n01630670_common_newt.JPEG', 'n01753488_horned_viper.JPEG'];
const PRE: Preprocess = { size: [227, 227], resize: [256, 256], channelOrder: 'BGR', mean: [104, 117, 123], std: [1, 1, 1], scale: 1 };

async function fullDecode(file: string): Promise<Pixels> {
  const { data, info } = await sharp(file)
    .rotate()
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .toColourspace('srgb')
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}

describe('probe preprocessing (pure parts)', () => {
  it('flattens alpha onto white', () => {
    const px = rgbaToRgb(new Uint8Array([10, 20, 30, 255, 0, 0, 0, 0, 200, 100, 0, 128]), 3, 1);
    expect(Array.from(px.data)).toEqual([
      10,
      20,
      30,
      255,
      255,
      255,
      Math.round((200 * 128 + 255 * 127) / 255),
      Math.round((100 * 128 + 255 * 127) / 255),
      Math.round((255 * 127) / 255),
    ]);
  });
});

describe.skipIf(!A.dir)(`probe preprocessing on shared photos ${A.skipReason ?? ''}`, () => {
  const dir = () => join(A.dir!, 'images', 'imagenet-sample');

  it("gives the pipeline's network input exactly (the resize decode.ts uses)", async () => {
    const how = pipelineResize();
    for (const f of [...FILES, 'n01440764_tench.JPEG']) {
      const file = join(dir(), f);
      const ref = await decodeImage(file, PRE);
      const mine = prepare(await fullDecode(file), PRE, how);
      expect(Array.from(mine.rgb.data)).toEqual(Array.from(ref.rgb));
      expect(mine.input).toEqual(ref.input);
    }
  });

  it("reproduces sharp's resize for libvips kernels (linear, mitchell)", async () => {
    for (const kernel of ['linear', 'mitchell'] as ResizeKernel[]) {
      for (const f of FILES.slice(0, 3)) {
        const file = join(dir(), f);
        const ref = await sharp(file).rotate().flatten({ background: '#fff' }).resize(256, 256, { fit: 'fill', kernel }).toColourspace('srgb').raw().toBuffer();
        const mine = resize(await fullDecode(file), 256, 256, kernel);
        let diff = 0;
        for (let i = 0; i < ref.length; i++) if (ref[i] !== mine.data[i]) diff++;
        expect(diff, `${kernel} ${f}`).toBe(0);
      }
    }
  });
});
