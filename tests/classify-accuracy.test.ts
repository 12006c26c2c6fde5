/**
 * `deepvis classify --json` over the 1000 photos of $DEEPVIS_ASSETS/images/imagenet-sample (one per
 * ILSVRC-2012 class; the true synset is the file name's prefix): top-1 and top-5 accuracy, on
 * ONNX Runtime and on TensorFlow.js wasm, with the same top-1 class for every photo on both.
 */
import { describe, expect, it } from 'vitest';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { requireAssets } from './helpers/assets.ts';
import { runCli } from './reference/cli.ts';

const A = requireAssets();

const TARGETS = {
  bvlc_googlenet: { top1: 0.78, top5: 0.93 },
  'squeezenet_v1.1': { top1: 0.65, top5: 0.86 },
} as const;

describe.skipIf(!A.dir)(`classification accuracy on imagenet-sample ${A.skipReason ?? ''}`, () => {
  const top1s = new Map<string, number[]>();
  for (const [name, target] of Object.entries(TARGETS))
    for (const backend of ['onnxruntime', 'wasm'] as const) {
      it(`${name} on ${backend}: top-1 ≥ ${target.top1}, top-5 ≥ ${target.top5}`, async () => {
        const modelDir = join(A.dir!, 'models', name);
        const synsets = (await readFile(join(modelDir, 'synset_words.txt'), 'utf8'))
          .split('\n')
          .filter(Boolean)
          .map((l) => l.split(' ')[0]);
        const folder = join(A.dir!, 'images', 'imagenet-sample');
        const photos = (await readdir(folder)).filter((f) => /\.jpe?g$/i.test(f));
        expect(photos.length).toBe(1000);

        const t0 = Date.now();
        const res = await runCli(['classify', '--model', modelDir, '--backend', backend, '--json', folder]);
        const seconds = (Date.now() - t0) / 1000;
        expect(res.stderr).toBe('');
        expect(res.code).toBe(0);

        const lines = res.stdout
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l) as { file: string; top: { index: number; label: string; prob: number }[] });
        expect(lines.length).toBe(1000);
        // In input order (the folder sorted), each with 5 classes, probabilities descending.
        expect(lines.map((l) => l.file)).toEqual([...photos].sort().map((f) => join(folder, f)));
        let top1 = 0;
        let top5 = 0;
        for (const l of lines) {
          expect(l.top).toHaveLength(5);
          for (let i = 1; i < 5; i++) expect(l.top[i].prob).toBeLessThanOrEqual(l.top[i - 1].prob);
          const truth = l.file.split('/').pop()!.split('_')[0];
          const got = l.top.map((t) => synsets[t.index]);
          if (got[0] === truth) top1++;
          if (got.includes(truth)) top5++;
        }
        top1s.set(
          `${name} ${backend}`,
          lines.map((l) => l.top[0].index),
        );
        console.log(
          `${name} on ${backend}: top-1 ${(top1 / 1000).toFixed(3)}, top-5 ${(top5 / 1000).toFixed(3)} (${seconds.toFixed(0)} s, ${(1000 / seconds).toFixed(1)} img/s including start-up)`,
        );
        expect(top1 / 1000).toBeGreaterThanOrEqual(target.top1);
        expect(top5 / 1000).toBeGreaterThanOrEqual(target.top5);
      }, 1_800_000);
    }

  for (const name of Object.keys(TARGETS))
    it(`${name}: the same top-1 class for every photo on both backends`, () => {
      const [a, b] = [top1s.get(`${name} onnxruntime`), top1s.get(`${name} wasm`)];
      if (!a || !b) throw new Error(`${name}: a classify run above failed`);
      expect(a.filter((c, i) => c !== b[i])).toEqual([]);
    });
});
