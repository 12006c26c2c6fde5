/**
 * The class-unit check of `deepvis scan`: over photos named by their synset (one per class), for
 * class unit i of a class layer, is the photo of class i among the unit's top-9 (and its top-1)?
 *
 *   DEEPVIS_ASSETS=../shared node bin/run-ts.mjs scripts/check-scan-classes.ts \
 *     [--model bvlc_googlenet] [--layer loss3/classifier] [--images DIR] [--workers 2] [--batch 8] [--out .cache/scan-check]
 *
 * Runs (or resumes) the scan stage only, then prints the two shares.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadModel } from '../pipeline/import/load.ts';
import { expandInputs } from '../pipeline/io/inputs.ts';
import { makePlan } from '../pipeline/stages/scan/plan.ts';
import { createRunner } from '../pipeline/engine/workers/runner.ts';
import { SCAN_HANDLERS } from '../pipeline/stages/scan/handler-table.ts';
import { runScanStage } from '../pipeline/stages/scan/scan.ts';
import { entries } from '../pipeline/stages/scan/topk.ts';
import { classIndex, synsetOfFile } from '../pipeline/stages/scan/classes.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string', default: 'bvlc_googlenet' },
    layer: { type: 'string', default: 'loss3/classifier' },
    images: { type: 'string' },
    workers: { type: 'string', default: '2' },
    batch: { type: 'string', default: '8' },
    out: { type: 'string', default: '.cache/scan-check' },
  },
});
const assets = process.env.DEEPVIS_ASSETS;
const images = a.images ?? (assets ? join(assets, 'images/imagenet-sample') : undefined);
if (!images) throw new Error('set DEEPVIS_ASSETS or pass --images');
const model = await loadModel(a.model!);
const files = await expandInputs([images]);
const plan = makePlan(model, [a.layer!], files, 9, 'file');
const runner = await createRunner({ model, backend: 'wasm', workers: Number(a.workers), handlers: SCAN_HANDLERS });
const t0 = performance.now();
let state: Awaited<ReturnType<typeof runScanStage>>;
try {
  state = await runScanStage({ plan, runner, batch: Number(a.batch), chunk: 128, stateDir: join(a.out!, model.id) });
} finally {
  await runner.close();
}
const sec = (performance.now() - t0) / 1000;
const idx = classIndex(model.labels);
const synsets = plan.files.map((f) => synsetOfFile(f, idx));
const t = state.topk[0];
let inTop9 = 0,
  top1 = 0,
  units = 0;
for (let u = 0; u < t.units; u++) {
  const want = model.labels?.[u]?.synset;
  if (!want || !synsets.includes(want)) continue;
  units++;
  const es = entries(t, u);
  if (es.some((e) => synsets[e.image] === want)) inTop9++;
  if (es.length && synsets[es[0].image] === want) top1++;
}
console.log(
  `${model.id} ${a.layer}: ${units} class units with a photo of their class among ${files.length} photos (${state.skipped.length} skipped); ` +
    `own-class photo in top-9: ${((100 * inTop9) / units).toFixed(1)} %, top-1: ${((100 * top1) / units).toFixed(1)} % ` +
    `(scan ${sec.toFixed(0)} s this run)`,
);
