import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../pipeline/engine/backend.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { requireAssets } from './helpers/assets.ts';
import { randn, rng } from './helpers/net-graph.ts';
import { referenceForward, relErr, toNhwc, type Arr } from './helpers/net-reference.ts';

const A = requireAssets();

/** Every blob of the shipped models, on wasm, against the float64 Caffe loops (real weights, one random input). */
describe.skipIf(!A.dir)(`real models equal the float64 Caffe reference ${A.skipReason ?? ''}`, () => {
  beforeAll(async () => {
    await initBackend('wasm');
  });
  for (const name of ['squeezenet_v1.1', 'bvlc_googlenet']) {
    it(name, async () => {
      const model = await loadModel(join(A.dir!, 'models', name));
      const [c, h, w] = model.graph.input.shape;
      const x: Arr = { shape: [1, c, h, w], data: Float64Array.from(randn(rng(17), c * h * w, 40)) };
      const ref = referenceForward(model.graph, x);
      const net = createNet(model);
      const names = model.graph.blobs.map((b) => b.name).filter((b) => b !== model.graph.input.blob);
      const xt = tf.tensor4d(toNhwc(x), [1, h, w, c]);
      const out = net.forward(xt, names);
      const worst = names.map((n) => [n, relErr(toNhwc(ref.get(n)!), out[n].dataSync())] as const).sort((a, b) => b[1] - a[1]);
      expect(worst[0][1], `worst blob ${worst[0][0]}`).toBeLessThan(1e-4);
      tf.dispose([xt, out]);
      net.dispose();
    }, 300_000);
  }
});
