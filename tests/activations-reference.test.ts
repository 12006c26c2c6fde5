/**
 * `deepvis activations` against the independent float64 Caffe reference (tests/reference):
 * for GoogLeNet and SqueezeNet, two held-back inputs made here with a seeded RNG (never tuned on)
 * go through the CLI as preprocessed .npy files with `--blobs all`; every blob must be within 1e-3
 * of the reference, relative to the blob's largest absolute value.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireAssets } from './helpers/assets.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { decodeImage } from '../pipeline/image/decode.ts';
import { readNpy, writeNpy } from '../pipeline/io/npy.ts';
import { referenceForward, relativeError } from './reference/caffe-ref.ts';
import { gaussian, runCli, seededRandom } from './reference/cli.ts';

const A = requireAssets();
const TOLERANCE = 1e-3;

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'act-ref-'));
});
afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** Input 1: i.i.d. uniform pixels (0–255) minus the mean. Input 2: a validation photo (picked by the seed) plus Gaussian noise (σ = 8). Both C×H×W. */
async function heldBackInputs(model: Awaited<ReturnType<typeof loadModel>>, seed: number): Promise<Float32Array[]> {
  const [, H, W] = model.graph.input.shape;
  const rand = seededRandom(seed);
  const mean = model.preprocess.mean;
  const noise = new Float32Array(3 * H * W);
  for (let c = 0; c < 3; c++) for (let i = 0; i < H * W; i++) noise[c * H * W + i] = rand() * 255 - mean[c];

  const photos = (await readdir(join(A.dir!, 'images', 'ilsvrc2012-val'))).sort();
  const photo = photos[Math.floor(rand() * photos.length)];
  const img = await decodeImage(join(A.dir!, 'images', 'ilsvrc2012-val', photo), model.preprocess);
  const g = gaussian(rand);
  const noisy = new Float32Array(3 * H * W);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < 3; c++) noisy[c * H * W + i] = img.input[i * 3 + c] + 8 * g();
  return [noise, noisy];
}

describe.skipIf(!A.dir)(`deepvis activations agrees with the independent Caffe reference ${A.skipReason ?? ''}`, () => {
  for (const [name, seed] of [
    ['bvlc_googlenet', 20240611],
    ['squeezenet_v1.1', 7001],
  ] as const) {
    it(`${name}: every blob within ${TOLERANCE} of the reference (relative to the blob's max |value|), two inputs`, async () => {
      const dir = join(A.dir!, 'models', name);
      const model = await loadModel(dir);
      const [, H, W] = model.graph.input.shape;
      const inputs = await heldBackInputs(model, seed);
      const worst: { blob: string; err: number }[] = [];
      for (const [k, x] of inputs.entries()) {
        const npy = join(tmp, `${name}-in${k}.npy`);
        await writeNpy(npy, x, [1, 3, H, W]);
        const out = join(tmp, `${name}-out${k}`);
        const res = await runCli(['activations', '--model', dir, '--input', npy, '--blobs', 'all', '--out', out]);
        expect(res.stderr).toBe('');
        expect(res.code).toBe(0);

        const ref = referenceForward(model, x);
        for (const info of model.graph.blobs) {
          const got = await readNpy(join(out, `${info.name.replaceAll('/', '__')}.npy`));
          expect(got.shape, info.name).toEqual([1, ...info.shape]);
          const want = ref.get(info.name)!;
          expect(want.data.length, info.name).toBe(got.data.length);
          const err = relativeError(want.data, got.data);
          worst.push({ blob: `${info.name} (input ${k})`, err });
        }
      }
      worst.sort((a, b) => b.err - a.err);
      console.log(
        `${name}: ${worst.length} blob comparisons, largest relative errors: ${worst
          .slice(0, 3)
          .map((w) => `${w.blob} ${w.err.toExponential(2)}`)
          .join(', ')}`,
      );
      expect(worst.filter((w) => !(w.err <= TOLERANCE))).toEqual([]);
      expect(worst.length).toBe(2 * model.graph.blobs.length);
    }, 600_000);
  }
});
