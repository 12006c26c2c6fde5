/**
 * `deepvis run --random-weights 3` on today's networks as torch.onnx.export writes them
 * (tests/helpers/onnx-families.ts): a ViT and a ConvNeXt gallery build from the validation
 * photos; the ViT's token-layer units show their max images at the right places — an embedding
 * unit's patch is the 8×8 patch of the photo at its grid position, a unit after attention sees the
 * whole image —; ConvNeXt's block units their 28-pixel field; and the ViT's probe page runs the
 * network (the file's architecture with the run's random weights) in Chromium with the
 * activations of `deepvis activations --random-weights 3`.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRgb } from '../../pipeline/image/decode.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { serveSite } from '../../pipeline/site/serve.ts';
import { requireAssets } from '../helpers/assets.ts';
import { convnextOnnx, vitOnnx } from '../helpers/onnx-families.ts';
import { requireChromium } from './browser.ts';
import { launchProbeBrowser, loadNetwork, loadPhoto, samePixels, unitAgainstActivations } from './probe-page.ts';
import { runCliOk } from '../reference/cli.ts';

const A = requireAssets();
const C = requireChromium();

interface Scan {
  maxImages: { file: string; value: number; y: number; x: number; patch: string }[];
}

describe.skipIf(!A.dir || !C.ok)(`galleries of a ViT and a ConvNeXt ${A.skipReason ?? C.skipReason ?? ''}`, () => {
  let tmp: string;
  const images = () => join(A.dir!, 'images', 'ilsvrc2012-val');
  const data = () => join(tmp, 'data');
  const scanOf = async (model: string, slug: string, unit: number): Promise<Scan> =>
    JSON.parse(await readFile(join(data(), model, 'units', slug, String(unit), 'scan.json'), 'utf8'));
  const media = (p: string) => join(data(), p);
  /** The gallery's layers (slugs), in network order. */
  const galleryLayers = async (model: string): Promise<string[]> => {
    const all: { slug: string }[] = JSON.parse(await readFile(join(data(), model, 'model.json'), 'utf8')).layers;
    const present = new Set((await readdir(join(data(), model, 'layers'))).map((f) => f.replace(/\.json$/, '')));
    return all.map((l) => l.slug).filter((s) => present.has(s));
  };

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'deepvis-modern-'));
    await writeFile(join(tmp, 'vit.onnx'), vitOnnx(6, 17).bytes);
    await writeFile(join(tmp, 'convnext.onnx'), convnextOnnx(4, 17).bytes);
    for (const m of ['vit', 'convnext'])
      await runCliOk([
        'run',
        '--model',
        join(tmp, `${m}.onnx`),
        '--random-weights',
        '3',
        '--images',
        images(),
        '--data',
        data(),
        '--dist',
        join(tmp, 'dist'),
        '--steps',
        '8',
        '--seeds',
        '1',
        '--quiet',
      ]);
  }, 600_000);
  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("ViT: the embedding's units show the 8×8 patch at their grid position, units after attention the whole photo", async () => {
    const layers = await galleryLayers('vit');
    expect(layers).toEqual([
      'encoder-Add_output_0-grid',
      'encoder.layers.encoder_layer_0-Add_output_0-grid',
      'encoder.layers.encoder_layer_0-out-Add_output_0-grid',
      'encoder.layers.encoder_layer_1-Add_output_0-grid',
      'encoder.layers.encoder_layer_1-out-Add_output_0-grid',
      'encoder.ln-LayerNormalization_output_0-grid',
      'encoder.ln-LayerNormalization_output_0-class',
      'logits',
    ]);
    const model = await loadModel(join(tmp, 'vit.onnx'), { weights: false });
    const first = async (slug: string) => Number((await readdir(join(data(), 'vit', 'units', slug)))[0]);
    const unit = await first('encoder-Add_output_0-grid');
    const scan = await scanOf('vit', 'encoder-Add_output_0-grid', unit);
    expect(scan.maxImages.length).toBeGreaterThan(0);
    for (const m of scan.maxImages.slice(0, 3)) {
      expect(m.y).toBeGreaterThanOrEqual(0);
      expect(m.y).toBeLessThan(4);
      expect(m.x).toBeLessThan(4);
      // The patch is the photo as the network saw it (32×32), rows 8y…8y+7 and columns 8x…8x+7.
      const { data: patch, info } = await sharp(media(m.patch)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([8, 8]);
      const photo = await decodeRgb(join(images(), m.file), model.preprocess);
      let diff = 0;
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          for (let c = 0; c < 3; c++) diff += Math.abs(patch[(y * 8 + x) * 3 + c] - photo.rgb[((8 * m.y + y) * 32 + 8 * m.x + x) * 3 + c]);
      expect(diff / (8 * 8 * 3), `${m.file} at (${m.y}, ${m.x})`).toBeLessThan(12);
    }
    // After attention every position's patch is the whole photo as the network saw it (not a
    // window shifted off the image), and its deconv map is not empty.
    const afterSlug = 'encoder.layers.encoder_layer_0-Add_output_0-grid';
    const afterUnit = await first(afterSlug);
    const after = await scanOf('vit', afterSlug, afterUnit);
    for (const [i, m] of after.maxImages.slice(0, 3).entries()) {
      const { data: patch, info } = await sharp(media(m.patch)).removeAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([info.width, info.height]).toEqual([32, 32]);
      const photo = await decodeRgb(join(images(), m.file), model.preprocess);
      let diff = 0;
      for (let i = 0; i < patch.length; i++) diff += Math.abs(patch[i] - photo.rgb[i]);
      expect(diff / patch.length, `${m.file} at (${m.y}, ${m.x})`).toBeLessThan(12);
      const map = JSON.parse(await readFile(join(data(), 'vit', 'units', afterSlug, String(afterUnit), `map-${i}.json`), 'utf8'));
      expect(map.deconv.max, `${m.file}: its deconv map`).toBeGreaterThan(0);
    }
    expect(after.maxImages.some((m) => m.y !== 0 || m.x !== 0)).toBe(true);
    expect(existsSync(join(tmp, 'dist', 'vit', 'encoder-Add_output_0-grid', String(unit), 'index.html'))).toBe(true);
    // The layer page says what a token layer's units are.
    const layerPage = await readFile(join(tmp, 'dist', 'vit', 'encoder-Add_output_0-grid', 'index.html'), 'utf8');
    expect(layerPage).toMatch(/one of the 16 channels over the 4×4 patch grid \(the class\s+token left out\)/);
    // The class token after the final norm, apart: its units see the whole photo.
    const cls = 'encoder.ln-LayerNormalization_output_0-class';
    const clsScan = await scanOf('vit', cls, await first(cls));
    expect(clsScan.maxImages.length).toBeGreaterThan(0);
    const clsPatch = await sharp(media(clsScan.maxImages[0].patch)).metadata();
    expect([clsPatch.width, clsPatch.height]).toEqual([32, 32]);
    expect(await readFile(join(tmp, 'dist', 'vit', cls, 'index.html'), 'utf8')).toMatch(/class token: each unit is one of its 16 channels/);
  });

  it("ConvNeXt: a block's units show their 28-pixel field", async () => {
    const layers = await galleryLayers('convnext');
    expect(layers).toEqual(['features.0.0-Conv_output_0', 'features.1.0-Add_output_0', 'features.2.1-Conv_output_0', 'features.3.0-Add_output_0', 'logits']);
    const unit = Number((await readdir(join(data(), 'convnext', 'units', 'features.1.0-Add_output_0')))[0]);
    const scan = await scanOf('convnext', 'features.1.0-Add_output_0', unit);
    const meta = await sharp(media(scan.maxImages[0].patch)).metadata();
    expect([meta.width, meta.height]).toEqual([28, 28]);
    expect(existsSync(join(tmp, 'dist', 'convnext', 'features.1.0-Add_output_0', String(unit), 'index.html'))).toBe(true);
  });

  describe('the probe pages', () => {
    let server: Server;
    let site: string;
    let browser: Browser;
    beforeAll(async () => {
      const s = await serveSite({ dist: join(tmp, 'dist'), port: 0, base: '/' });
      server = s.server;
      site = s.url;
      browser = await launchProbeBrowser();
    });
    afterAll(async () => {
      await browser?.close();
      server?.close();
    });

    const PROBES: [string, [string, number][]][] = [
      [
        'vit',
        [
          ['/encoder/Add_output_0/grid', 3],
          ['/encoder.ln/LayerNormalization_output_0/grid', 7],
          ['logits', 2],
        ],
      ],
      [
        'convnext',
        [
          ['/features.1.0/Add_output_0', 5],
          ['logits', 2],
        ],
      ],
    ];
    for (const [m, blobs] of PROBES)
      it(`${m}: runs the network on a photo with the activations of \`deepvis activations\``, async () => {
        const page = await browser.newPage();
        await page.goto(`${site}${m}/probe/`, { waitUntil: 'networkidle' });
        const loaded = await loadNetwork(page);
        expect(loaded.error, loaded.error).toBeUndefined();
        // The page's network is the gallery's: the file's architecture with the run's random weights.
        const record = JSON.parse(await readFile(join(data(), m, 'model.json'), 'utf8'));
        expect(record.randomWeights).toBe(3);
        const photo = join(images(), 'ILSVRC2012_val_00000610.jpg');
        await loadPhoto(page, photo);
        const model = await loadModel(join(tmp, `${m}.onnx`), { weights: false });
        const ref = await decodeRgb(photo, model.preprocess);
        const { same } = await samePixels(page, ref.rgb);
        expect(same / ref.rgb.length).toBeGreaterThanOrEqual(0.95);
        const out = join(tmp, `acts-${m}`);
        await runCliOk([
          'activations',
          '--model',
          join(tmp, `${m}.onnx`),
          '--random-weights',
          '3',
          '--input',
          photo,
          '--blobs',
          blobs.map(([b]) => b).join(','),
          '--out',
          out,
        ]);
        for (const [blob, unit] of blobs) {
          const { length, per, rel } = await unitAgainstActivations(page, out, blob, unit);
          expect(length, blob).toBe(per);
          // The page decodes the photo itself (a few pixels differ by one level, checked above); on a
          // 32×32 input each pixel weighs more than on SqueezeNet's 227×227 (1e-3 there).
          console.log(`${m} ${blob} unit ${unit}: max |probe − activations| / max |blob| = ${rel.toExponential(2)}`);
          expect(rel, blob).toBeLessThanOrEqual(5e-3);
        }
        await page.close();
      });
  });
});
