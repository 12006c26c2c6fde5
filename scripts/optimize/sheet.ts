/**
 * A contact sheet of optimised class-unit images: one row per unit, one column per preset, with
 * what GoogLeNet-style class units score on them printed (the unit's own probability and the
 * top-1 of a second network, to show whether the image is recognisable beyond the net it fooled).
 *
 *   DEEPVIS_ASSETS=../shared node bin/run-ts.mjs scripts/optimize/sheet.ts --data .cache/bench-optimize/quality \
 *     --model bvlc_googlenet --other squeezenet_v1.1 --layer loss3/classifier --units 11,99 --presets none,p3 --out docs/img/sheet.jpg
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { readUnitRecord } from '../../pipeline/content/unit-store.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import type { OptImageRecord } from '../../pipeline/stages/optimize/jobs.ts';
import { evaluateImages } from './eval.ts';

const { values: a } = parseArgs({
  options: {
    data: { type: 'string' },
    model: { type: 'string' },
    other: { type: 'string' },
    layer: { type: 'string' },
    units: { type: 'string' },
    presets: { type: 'string', default: 'none,p3' },
    out: { type: 'string' },
    cell: { type: 'string', default: '160' },
  },
});
if (!a.data || !a.model || !a.layer || !a.units || !a.out) throw new Error('need --data --model --layer --units --out');
await initBackend('wasm');
const model = await loadModel(a.model);
const other = a.other ? await loadModel(a.other) : undefined;
const net = createNet(model);
const otherNet = other ? createNet(other) : undefined;
const units = a.units.split(',').map(Number);
const presets = a.presets!.split(',');
const cell = Number(a.cell);
const tiles: sharp.OverlayOptions[] = [];
console.log('| unit | class | preset | steps | p(class) | top-1 | other net top-1 (p) |');
console.log('|---|---|---|---|---|---|---|');
for (const [r, unit] of units.entries()) {
  const rec = await readUnitRecord(resolve(a.data), model.id, a.layer, unit);
  for (const [c, preset] of presets.entries()) {
    const o = (rec?.optimized as OptImageRecord[] | undefined)?.find((x) => x.preset === preset && x.seed === 0);
    if (!o) throw new Error(`unit ${unit}: no ${preset} image in ${a.data}`);
    const file = join(resolve(a.data), o.file);
    const [ev] = await evaluateImages(net, model, [file], null, [unit]);
    let otherTxt = '-';
    if (other && otherNet) {
      const [eo] = await evaluateImages(otherNet, other, [file], null, [unit]);
      otherTxt = `${other.labels?.[eo.top5[0]]?.name.split(',')[0] ?? eo.top5[0]} (${eo.top5.includes(unit) ? 'class in top-5' : 'class not in top-5'})`;
    }
    console.log(
      `| ${unit} | ${model.labels?.[unit]?.name.split(',')[0]} | ${preset} | ${o.steps} | ${ev.prob.toFixed(3)} | ${model.labels?.[ev.top5[0]]?.name.split(',')[0]} | ${otherTxt} |`,
    );
    tiles.push({ input: await sharp(file).resize(cell, cell).toBuffer(), left: c * cell, top: r * cell });
  }
}
await sharp({ create: { width: presets.length * cell, height: units.length * cell, channels: 3, background: '#fff' } })
  .composite(tiles)
  .jpeg({ quality: 85 })
  .toFile(a.out);
console.log(`\nwrote ${a.out}: rows = units ${units.join(', ')}; columns = ${presets.join(', ')}`);
