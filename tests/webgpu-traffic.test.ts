// Host↔GPU traffic on webgpu (SwiftShader), counted by engine/gpu-counters.ts: the optimisation
// loop reads nothing back until its render ends and uploads no constants per step; the scan reads
// one packed tensor per batch.
import * as tf from '@tensorflow/tfjs-core';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../pipeline/engine/backend.ts';
import { countGpuWork, type GpuCounts } from '../pipeline/engine/gpu-counters.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import type { Net } from '../pipeline/engine/net/types.ts';
import { classScoreBlob } from '../pipeline/graph/classes.ts';
import type { Model } from '../pipeline/graph/types.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { withRandomWeights } from '../pipeline/import/random-weights.ts';
import { render } from '../pipeline/stages/optimize/ascent.ts';
import { OPTIMIZE_PRESETS } from '../pipeline/stages/optimize/presets.ts';
import { jobRng } from '../pipeline/stages/optimize/rng.ts';
import { scanBatch } from '../pipeline/stages/scan/handlers.ts';
import { writePhotos, writeTinyModel } from './helpers/scan-fixture.ts';
import { requireSwiftshader } from './helpers/swiftshader.ts';

const swiftshader = requireSwiftshader();

async function counted(fn: () => Promise<unknown>): Promise<GpuCounts> {
  const c = countGpuWork();
  try {
    await fn();
    return c.read();
  } finally {
    c.stop();
  }
}

describe.skipIf(!swiftshader.ok)(`webgpu traffic (a tiny random-weight net) ${swiftshader.skipReason ?? ''}`, () => {
  const previous = process.env.DEEPVIS_GPU_ADAPTER;
  let model: Model;
  let net: Net;
  let photos: string[];
  beforeAll(async () => {
    process.env.DEEPVIS_GPU_ADAPTER = 'swiftshader';
    expect(await initBackend('webgpu')).toBe('webgpu');
    const root = await mkdtemp(join(tmpdir(), 'deepvis-traffic-'));
    model = withRandomWeights(await loadModel(await writeTinyModel(join(root, 'tiny'), 64, { lrn: true })), 3);
    photos = (await writePhotos(join(root, 'photos'), 2)).map((f) => join(root, 'photos', f));
    net = createNet(model);
  }, 300_000);
  afterAll(async () => {
    net?.dispose();
    await initBackend('wasm');
    if (previous === undefined) delete process.env.DEEPVIS_GPU_ADAPTER;
    else process.env.DEEPVIS_GPU_ADAPTER = previous;
  });

  for (const preset of ['p3', 'fourier']) {
    it(`optimize ${preset}: two reads per render whatever its steps; constants are not uploaded per step`, async () => {
      const blob = 'conv2';
      const run = (steps: number) =>
        counted(() =>
          render(net, {
            blob,
            objective: 'center',
            preset: OPTIMIZE_PRESETS[preset],
            steps,
            gradScale: 1,
            images: [0, 1].map((u) => ({ unit: u, rng: jobRng(model.id, blob, u, preset, 0) })),
          }),
        );
      await run(2); // shaders compiled, weights uploaded
      const [short, long] = [await run(2), await run(5)];
      expect([short.readbacks, long.readbacks]).toEqual([2, 2]);
      // Per step, beside tfjs's own gradient seeds (≤ 2: ones for tf.grad and for the sum's
      // gradient), fourier uploads what is drawn per step: each image's warp matrices (2) and Adam's
      // two bias corrections (and its clean evaluations' seeds). Before the constants were kept,
      // p3 uploaded 4 more per step, fourier 10 more.
      const perStep = (long.uploads - short.uploads) / 3;
      expect(perStep).toBeLessThanOrEqual(preset === 'fourier' ? 2 + 2 * 2 + 2 + 1 : 2);
    }, 300_000);
  }

  it('scan: one read per batch', async () => {
    const blobs = ['conv1', 'conv2', classScoreBlob(model)];
    const c = await counted(() => scanBatch({ net, model, tf }, { files: photos, blobs, probBlob: classScoreBlob(model), corrBlobs: ['conv1', 'conv2'] }));
    expect(c.readbacks).toBe(1);
  }, 300_000);
});
