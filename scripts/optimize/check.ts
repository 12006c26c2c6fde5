/**
 * The "must show" checks for `deepvis optimize`, as a script (too long for CI):
 * for random units of a class blob and a hidden blob, optimise one image each with a preset, then
 * measure on the saved WebP (decoded back to 8 bits): the unit's activation against its maximum
 * over the sample photos, and (class blob) whether the network's top-1 class is the unit's class.
 *
 *   DEEPVIS_ASSETS=../shared node bin/run-ts.mjs scripts/optimize/check.ts --model squeezenet_v1.1 \
 *     --class pool10 --hidden fire9/concat [--units 20] [--preset p3] [--steps N] [--workers N]
 */
import { join, resolve } from 'node:path';
import { readdir } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { readUnitRecord } from '../../pipeline/content/unit-store.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import type { OptImageRecord } from '../../pipeline/stages/optimize/jobs.ts';
import type { ObjectiveKind } from '../../pipeline/stages/optimize/objectives.ts';
import { optimize } from '../../pipeline/stages/optimize/stage.ts';
import { Rng } from '../../pipeline/stages/optimize/rng.ts';
import { evaluateImages, photoMaxima } from './eval.ts';

const { values: a } = parseArgs({
  options: {
    model: { type: 'string' },
    class: { type: 'string' },
    hidden: { type: 'string' },
    units: { type: 'string', default: '20' },
    preset: { type: 'string', default: 'p3' },
    steps: { type: 'string' },
    seeds: { type: 'string', default: '1' },
    workers: { type: 'string' },
    batch: { type: 'string', default: '4' },
    out: { type: 'string', default: '.cache/optimize-check' },
    objective: { type: 'string', default: 'center' },
    'literal-lr': { type: 'boolean' },
  },
});
const assets = process.env.DEEPVIS_ASSETS;
if (!assets || !a.model) throw new Error('set DEEPVIS_ASSETS and --model');
const out = resolve(a.out!);
const backend = await initBackend('wasm');
const model = await loadModel(a.model);
const net = createNet(model);
const photosDir = join(assets, 'images', 'imagenet-sample');
const photos = (await readdir(photosDir))
  .filter((f) => /\.jpe?g$/i.test(f))
  .sort()
  .map((f) => join(photosDir, f));
const blobs = [a.class, a.hidden].filter((b): b is string => !!b);
const maxima = await photoMaxima(net, model, blobs, photos, join(out, `maxima-${model.id}.json`));

const nUnits = Number(a.units);
const pick = (blob: string): number[] => {
  const count = model.graph.blobs.find((b) => b.name === blob)!.shape[0];
  const rng = new Rng(`check|${model.id}|${blob}`);
  const set = new Set<number>();
  while (set.size < Math.min(nUnits, count)) set.add(rng.int(0, count - 1));
  return [...set].sort((x, y) => x - y);
};
const layers = blobs.map((name) => ({ name, units: pick(name) }));
const dataRoot = join(out, 'data');
const objective = a.objective as ObjectiveKind;
const summary = await optimize(model, {
  dataRoot,
  layers,
  presets: [a.preset!],
  seeds: Array.from({ length: Number(a.seeds) }, (_, i) => i),
  steps: a.steps ? Number(a.steps) : undefined,
  batch: Number(a.batch),
  objective,
  lrMode: a['literal-lr'] ? 'literal' : 'calibrated',
  resume: true,
  backend: 'wasm',
  workers: a.workers === undefined ? undefined : Number(a.workers),
});
console.log(
  `optimize: ${summary.done} new images, ${summary.skipped} reused; ${summary.done ? ((summary.imgSteps * 1000) / summary.wallMs).toFixed(2) + ' img-steps/s' : ''} (${backend})`,
);

for (const { name, units } of layers) {
  const isClass = name === a.class;
  const items: { unit: number; rec: OptImageRecord }[] = [];
  for (const u of units) {
    const rec = await readUnitRecord(dataRoot, model.id, name, u);
    for (const o of (rec?.optimized ?? []) as OptImageRecord[]) if (o.preset === a.preset) items.push({ unit: u, rec: o });
  }
  const ev = await evaluateImages(
    net,
    model,
    items.map((i) => join(dataRoot, i.rec.file)),
    items.map((i) => ({ blob: name, unit: i.unit })),
  );
  let above = 0,
    aboveFloat = 0,
    aboveAnyPos = 0,
    own = 0;
  console.log(`\n${model.id} ${name} (${a.preset}, ${items[0]?.rec.steps} steps, lr ${items[0]?.rec.lr_mode} ×${items[0]?.rec.lr_scale.toFixed(2)})`);
  console.log('unit  seed  start     best(float)  saved-webp  photo-max(centre/any)  top1  argmax_step');
  items.forEach((it, k) => {
    const m = maxima[name];
    const pm = m.centreMax[it.unit];
    const pa = m.max[it.unit];
    const e = ev[k];
    if (e.activation > pm) above++;
    if (e.activation > pa) aboveAnyPos++;
    if (it.rec.best_activation > pm) aboveFloat++;
    if (e.top5[0] === it.unit) own++;
    console.log(
      `${String(it.unit).padStart(4)}  ${String(it.rec.seed).padStart(4)}  ${it.rec.start_activation.toFixed(2).padStart(7)}  ${it.rec.best_activation.toFixed(2).padStart(10)}  ${e.activation.toFixed(2).padStart(10)}  ${pm.toFixed(2).padStart(9)}/${pa.toFixed(2).padEnd(9)}  ${String(e.top5[0]).padStart(5)}  ${it.rec.argmax_step}`,
    );
  });
  const n = items.length;
  const pct = (x: number) => `${x}/${n} (${((100 * x) / n).toFixed(0)} %)`;
  console.log(
    `SUMMARY ${model.id} ${name} ${a.preset}: above photo max (saved image, centre) ${pct(above)}; (float) ${pct(aboveFloat)}; above photo max at any position ${pct(aboveAnyPos)}` +
      (isClass ? `; top-1 own class ${pct(own)}` : ''),
  );
}
net.dispose();
