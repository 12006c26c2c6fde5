import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { requireAssets } from './helpers/assets.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { withRandomWeights } from '../pipeline/import/random-weights.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import { initBackend } from '../pipeline/engine/backend.ts';
import { renderImage } from '../pipeline/stages/scan/handlers.ts';
import { cropZeroPadded, unitWindow, maxAbsOutside } from '../pipeline/stages/scan/patches.ts';
import { unitInputGradients } from '../pipeline/stages/scan/deconv.ts';
import { deprocessToRgb } from '../pipeline/image/encode.ts';
import { decodeImage } from '../pipeline/image/decode.ts';
import type { BlobInfo, Model } from '../pipeline/graph/types.ts';

describe('receptive-field crops', () => {
  const blob: BlobInfo = { name: 'c', shape: [4, 5, 5], producer: 'conv', layer: 'c', rf: { size: [5, 5], stride: [2, 2], offset: [-2, -2] } };
  it('cuts the window at a position and zero-pads outside the map', () => {
    const H = 6,
      W = 7,
      C = 3;
    const src = Float32Array.from({ length: H * W * C }, (_, i) => i + 1);
    const win = unitWindow(blob, 0, H, W); // y = 0, x = 0 → rows/cols [−2, 3)
    expect(win).toEqual({ top: -2, left: -2, height: 5, width: 5 });
    const out = cropZeroPadded(src, H, W, C, win);
    for (let y = 0; y < 5; y++)
      for (let x = 0; x < 5; x++)
        for (let c = 0; c < C; c++) {
          const sy = y - 2,
            sx = x - 2;
          const want = sy >= 0 && sx >= 0 ? src[(sy * W + sx) * C + c] : 0;
          expect(out[(y * 5 + x) * C + c]).toBe(want);
        }
    const w2 = unitWindow(blob, 2 * 5 + 3, H, W); // y = 2, x = 3
    expect(w2).toEqual({ top: 2, left: 4, height: 5, width: 5 });
    expect(maxAbsOutside(src, H, W, C, { top: 0, left: 0, height: H, width: W })).toBe(0);
  });
  it('a zero-padded patch shows the mean colour where it leaves the image', () => {
    const p = {
      size: [2, 2] as [number, number],
      resize: [2, 2] as [number, number],
      channelOrder: 'BGR' as const,
      mean: [104, 117, 123] as [number, number, number],
      std: [1, 1, 1] as [number, number, number],
      scale: 1,
    };
    const crop = cropZeroPadded(new Float32Array(12).fill(10), 2, 2, 3, { top: -1, left: 0, height: 3, width: 2 });
    const rgb = deprocessToRgb(crop, 3, 2, p);
    expect(Array.from(rgb.subarray(0, 3))).toEqual([123, 117, 104]);
    expect(Array.from(rgb.subarray(6, 9))).toEqual([133, 127, 114]);
  });
});

const A = requireAssets();

describe.skipIf(!A.dir)(`patch and deconv images are receptive-field sized on real nets ${A.skipReason ?? ''}`, () => {
  let out: string;
  beforeAll(async () => {
    await initBackend('wasm');
    out = await mkdtemp(join(tmpdir(), 'deepvis-patches-'));
  });

  async function check(model: Model, layers: Record<string, number>, image: string) {
    const net = createNet(model);
    const [, H, W] = model.graph.input.shape;
    const img = await decodeImage(image, model.preprocess);
    const infos = new Map(model.graph.blobs.map((b) => [b.name, b]));
    const targets = Object.keys(layers).flatMap((blob) => {
      const info = infos.get(blob)!;
      const positions = info.shape.length === 3 ? [0, Math.floor(info.shape[1] / 2) * info.shape[2] + Math.floor(info.shape[2] / 2)] : [0];
      return positions.map((pos, i) => ({
        blob,
        unit: 3,
        pos,
        value: 0,
        patch: join(out, `${model.id}-${blob.replace(/\//g, '-')}-${i}-p.webp`),
        deconv: join(out, `${model.id}-${blob.replace(/\//g, '-')}-${i}-d.webp`),
        heat: join(out, `${model.id}-${blob.replace(/\//g, '-')}-${i}-h.webp`),
        scale: join(out, `${model.id}-${blob.replace(/\//g, '-')}-${i}-scale.json`),
      }));
    });
    const r = await renderImage({ net, model, tf }, { file: image, targets, mode: 'deconv', batch: 4 });
    expect(r.error).toBeNull();
    for (const t of targets) {
      for (const f of [t.patch, t.deconv, t.heat]) {
        const meta = await sharp(f).metadata();
        expect([t.blob, meta.width, meta.height]).toEqual([t.blob, layers[t.blob], layers[t.blob]]);
      }
    }
    // The full-image gradient of a conv unit vanishes outside its window (backprop: no ReLU gate on the signal sign).
    for (const blob of Object.keys(layers)) {
      const info = infos.get(blob)!;
      if (info.shape.length !== 3 || info.rf.size[0] >= H) continue;
      const pos = 1 * info.shape[2] + 1;
      const { grads } = await unitInputGradients(net, img.input, [{ blob, unit: 5, pos }], 'backprop');
      expect(maxAbsOutside(grads[0], H, W, 3, unitWindow(info, pos, H, W)), blob).toBe(0);
    }
    net.dispose();
  }

  it('CaffeNet-yos (random weights): conv1 11, conv2 51, conv3 99, conv4 131, conv5 163, fc6 227', async () => {
    const m = withRandomWeights(await loadModel(join(A.dir!, 'models/caffenet-yos'), { weights: false }), 1);
    await check(m, { conv1: 11, conv2: 51, conv3: 99, conv4: 131, conv5: 163, fc6: 227 }, join(A.dir!, 'images/imagenet-sample/n01440764_tench.JPEG'));
  });

  it('GoogLeNet: conv1/7x7_s2 7, inception_3a/output 59, inception_4c/output 299, loss3/classifier 224', async () => {
    const m = await loadModel(join(A.dir!, 'models/bvlc_googlenet'));
    await check(
      m,
      { 'conv1/7x7_s2': 7, 'inception_3a/output': 59, 'inception_4c/output': 299, 'loss3/classifier': 224 },
      join(A.dir!, 'images/imagenet-sample/n01443537_goldfish.JPEG'),
    );
  });
});

describe('whole-image windows', () => {
  it('fc units and 1×1 (globally pooled) units see the whole input', () => {
    const fc: BlobInfo = { name: 'fc', shape: [10], producer: 'fc', layer: 'fc', rf: { size: [32, 32], stride: [32, 32], offset: [0, 0] } };
    const g: BlobInfo = { name: 'g', shape: [10, 1, 1], producer: 'pool', layer: 'g', rf: { size: [415, 415], stride: [16, 16], offset: [-94, -94] } };
    expect(unitWindow(fc, 0, 32, 30)).toEqual({ top: 0, left: 0, height: 32, width: 30 });
    expect(unitWindow(g, 0, 227, 227)).toEqual({ top: 0, left: 0, height: 227, width: 227 });
  });

  it("a token grid after attention (every position's field the whole image): the whole input at every position", () => {
    const grid: BlobInfo = {
      name: 'b/grid',
      shape: [16, 4, 4],
      producer: 'tokengrid',
      layer: 'b/grid',
      rf: { size: [32, 32], stride: [32, 32], offset: [0, 0] },
    };
    for (const pos of [0, 5, 15]) expect(unitWindow(grid, pos, 32, 32)).toEqual({ top: 0, left: 0, height: 32, width: 32 });
    // A patch grid before attention keeps its patches.
    const patches: BlobInfo = { ...grid, rf: { size: [8, 8], stride: [8, 8], offset: [0, 0] } };
    expect(unitWindow(patches, 5, 32, 32)).toEqual({ top: 8, left: 8, height: 8, width: 8 });
  });
});
