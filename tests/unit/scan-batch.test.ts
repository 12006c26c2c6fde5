import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyModel, writePhotos } from '../helpers/scan-fixture.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { withRandomWeights } from '../../pipeline/import/random-weights.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { scanBatch } from '../../pipeline/stages/scan/handlers.ts';
import { decodeImage } from '../../pipeline/image/decode.ts';
import { addCorrBatch, addToCorr, createCorr } from '../../pipeline/stages/scan/classes.ts';
import type { Model } from '../../pipeline/graph/types.ts';
import type { Net } from '../../pipeline/engine/net/types.ts';

let model: Model;
let net: Net;
let files: string[];

beforeAll(async () => {
  await initBackend('wasm');
  const dir = await mkdtemp(join(tmpdir(), 'deepvis-scanbatch-'));
  model = withRandomWeights(await loadModel(await writeTinyModel(join(dir, 'tiny')), { weights: false }), 7);
  net = createNet(model);
  files = (await writePhotos(join(dir, 'img'), 5, 3)).map((f) => join(dir, 'img', f));
  files.splice(2, 0, join(dir, 'missing.jpg'));
});

describe('scanBatch', () => {
  it('returns per-unit maxima, first arg-max positions, probabilities and the batch cross products', async () => {
    const r = await scanBatch({ net, model, tf }, { files, blobs: ['conv1', 'conv2', 'fc3'], probBlob: 'prob', corrBlobs: ['conv1', 'conv2'] });
    expect(r.errors.map((e) => e !== null)).toEqual([false, false, true, false, false, false]);
    const ok = files.filter((_, i) => r.errors[i] === null);
    // Reference: the full blobs, one image at a time.
    const acts: number[][] = [];
    for (const [n, f] of ok.entries()) {
      const img = await decodeImage(f, model.preprocess);
      const x = tf.tensor4d(img.input, [1, 48, 48, 3]);
      const outs = net.forward(x, ['conv1', 'conv2', 'fc3', 'prob']);
      const row: number[] = [];
      for (const [bi, b] of ['conv1', 'conv2'].entries()) {
        const [, h, w, c] = outs[b].shape;
        const d = outs[b].dataSync();
        for (let u = 0; u < c; u++) {
          let best = -Infinity,
            at = -1;
          for (let p = 0; p < h * w; p++)
            if (d[p * c + u] > best) {
              best = d[p * c + u];
              at = p;
            }
          expect(r.values[bi][n * c + u]).toBeCloseTo(best, 4);
          // First arg-max, unless a near-tie makes batch rounding pick another position of equal value.
          if (r.positions[bi]![n * c + u] !== at) expect(d[r.positions[bi]![n * c + u] * c + u]).toBeCloseTo(best, 4);
          row.push(best);
        }
      }
      expect(Array.from(r.values[2].subarray(n * 6, n * 6 + 6))).toEqual(Array.from(outs.fc3.dataSync()).map((v) => expect.closeTo(v, 4)));
      expect(Array.from(r.probs!.subarray(n * 6, n * 6 + 6))).toEqual(Array.from(outs.prob.dataSync()).map((v) => expect.closeTo(v, 6)));
      acts.push(row);
      tf.dispose([x, ...Object.values(outs)]);
    }
    expect(r.positions[2]).toBeNull();
    // Cross products: Σ_n a_nu p_nc.
    const U = 8 + 12;
    const probs = r.probs!;
    for (let u = 0; u < U; u++)
      for (let c = 0; c < 6; c++) {
        let s = 0;
        for (let n = 0; n < ok.length; n++) s += acts[n][u] * probs[n * 6 + c];
        expect(r.cross![u * 6 + c]).toBeCloseTo(s, 2);
      }
    // Streaming sums from the worker's cross products equal the JS reference.
    const a = new Float32Array(ok.length * U);
    for (let n = 0; n < ok.length; n++) for (let u = 0; u < U; u++) a[n * U + u] = r.values[u < 8 ? 0 : 1][n * (u < 8 ? 8 : 12) + (u < 8 ? u : u - 8)];
    const s1 = createCorr(U, 6),
      s2 = createCorr(U, 6);
    addToCorr(
      s1,
      a,
      probs,
      ok.map(() => true),
    );
    addCorrBatch(s2, a, probs, ok.length, r.cross!);
    expect(s2.n).toBe(s1.n);
    for (let i = 0; i < U * 6; i++) expect(s2.sumAP[i]).toBeCloseTo(s1.sumAP[i], 2);
    expect(Array.from(s2.sumA)).toEqual(Array.from(s1.sumA));
  });
});
