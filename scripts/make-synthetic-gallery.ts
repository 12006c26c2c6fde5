/**
 * Writes a synthetic gallery in the pipeline's content layout (pipeline/content/types.ts), for
 * building and benchmarking the site before (or without) real pipeline output.
 *
 *   node bin/run-ts.mjs scripts/make-synthetic-gallery.ts [--out DIR] [--shape caffenet|small]
 *        [--labels synset_words.txt] [--seed N]
 *
 * `caffenet`: the CaffeNet blobs conv1…fc8 (10,568 units), each with 4 optimised images and 9 max
 * patches + 9 deconvs + 9 heat maps (small solid-colour WebPs). `small`: a few hundred units, some with only
 * optimised or only max images, for tests. Class names come from a synset_words.txt file
 * (default $DEEPVIS_ASSETS/models/bvlc_googlenet/synset_words.txt); without one, "class N".
 */
import { coveringConcept, hypernymsOf } from '../pipeline/graph/concepts.ts';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { LayerRecord, MaxImage, ModelRecord, OptImage, TopClass, UnitRecord } from '../pipeline/content/types.ts';
import { layerSlug } from '../pipeline/content/types.ts';
import { mapLimit } from '../pipeline/site/data.ts';
import { mulberry32 } from '../pipeline/core/random.ts';

export interface SyntheticLayer {
  name: string;
  kind: string;
  shape: number[];
  rf: number;
  stride: number;
  /** Which unit indices get a record (default: all). */
  present?: number[];
}

export interface SyntheticOptions {
  out: string;
  model?: string;
  modelName?: string;
  layers: SyntheticLayer[];
  /** Class names by output index; the last layer is the class layer. */
  labels: { synset?: string; name: string }[];
  seed?: number;
  /** Leave out optimised images for every unit with unit % 7 == 3 and max images for % 7 == 5. */
  partial?: boolean;
  /** Remove `out` first. */
  clean?: boolean;
  inputSize?: number;
}

const units = (shape: number[]) => shape[0];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** CaffeNet's blobs as the toolbox shows them: 10,568 units. */
export const CAFFENET_LAYERS: SyntheticLayer[] = [
  { name: 'conv1', kind: 'conv', shape: [96, 55, 55], rf: 11, stride: 4 },
  { name: 'conv2', kind: 'conv', shape: [256, 27, 27], rf: 51, stride: 8 },
  { name: 'conv3', kind: 'conv', shape: [384, 13, 13], rf: 99, stride: 16 },
  { name: 'conv4', kind: 'conv', shape: [384, 13, 13], rf: 131, stride: 16 },
  { name: 'conv5', kind: 'conv', shape: [256, 13, 13], rf: 163, stride: 16 },
  { name: 'fc6', kind: 'fc', shape: [4096], rf: 227, stride: 1 },
  { name: 'fc7', kind: 'fc', shape: [4096], rf: 227, stride: 1 },
  { name: 'fc8', kind: 'fc', shape: [1000], rf: 227, stride: 1 },
];

/** A few hundred units for tests: two conv layers in part, and class units 0–299 (one big layer page). */
export const SMALL_LAYERS: SyntheticLayer[] = [
  { ...CAFFENET_LAYERS[0], present: range(24) },
  { ...CAFFENET_LAYERS[4], name: 'conv5/relu', present: range(48) },
  { ...CAFFENET_LAYERS[7], present: range(300) },
];

/** Parses synset_words.txt ("n01440764 tench, Tinca tinca" per line). */
export async function readSynsetWords(path: string): Promise<{ synset: string; name: string }[]> {
  const lines = (await readFile(path, 'utf8')).split('\n').filter((l) => l.trim());
  return lines.map((l) => {
    const m = /^(\S+)\s+(.*)$/.exec(l.trim());
    return m ? { synset: m[1], name: m[2] } : { synset: l.trim(), name: l.trim() };
  });
}

const POOL = 8;

/** Small solid-colour WebPs, POOL per size, encoded once and written many times. */
async function imagePool(sizes: number[]): Promise<Map<number, Buffer[]>> {
  const pool = new Map<number, Buffer[]>();
  for (const size of new Set(sizes)) {
    const variants: Buffer[] = [];
    for (let i = 0; i < POOL; i++) {
      const hue = (i * 360) / POOL;
      const [r, g, b] = [0, 120, 240].map((o) => Math.round(127 + 100 * Math.cos(((hue + o) * Math.PI) / 180)));
      variants.push(
        await sharp({ create: { width: size, height: size, channels: 3, background: { r, g, b } } })
          .webp({ quality: 50 })
          .toBuffer(),
      );
    }
    pool.set(size, variants);
  }
  return pool;
}

/** Writes the gallery; returns the number of unit records and image files. */
function conceptOf(synsets: (string | undefined)[]): { concept?: UnitRecord['concept'] } {
  const c = coveringConcept(synsets);
  return c ? { concept: c.runnerUp ? { ...c.concept, runnerUp: c.runnerUp } : c.concept } : {};
}

function syntheticStats(rand: () => number): NonNullable<UnitRecord['stats']> {
  const counts = range(20).map(() => Math.floor(rand() * 80));
  const dead = Math.floor(rand() * 200);
  const images = dead + counts.reduce((a, b) => a + b, 0);
  return { images, mean: rand() * 20, std: rand() * 10, dead: dead / images, selectivity: rand() * 0.3, hist: { dead, from: 0.01, perOctave: 4, counts } };
}

/** 16 inputs from the previous layer, strongest first, shares of a positive total. */
function syntheticCircuit(rand: () => number, from: LayerRecord): NonNullable<UnitRecord['circuit']> {
  const picked = [...new Set(range(16).map(() => Math.floor(rand() * from.units)))];
  const values = picked.map(() => rand()).sort((a, b) => b - a);
  const total = values.reduce((a, b) => a + b, 0) * 1.5;
  return {
    upstream: {
      blob: from.name,
      method: 'weights',
      inputs: picked.map((unit, i) => ({ unit, value: Number(values[i].toPrecision(6)), share: Number((values[i] / total).toFixed(4)) })),
    },
  };
}

export async function makeSyntheticGallery(opts: SyntheticOptions): Promise<{ units: number; images: number }> {
  const model = opts.model ?? 'caffenet';
  const inputSize = opts.inputSize ?? 227;
  const rand = mulberry32(opts.seed ?? 1);
  const root = resolve(opts.out);
  if (opts.clean) await rm(join(root, model), { recursive: true, force: true });
  const labels = opts.labels;
  const lastIndex = opts.layers.length - 1;
  const layerRecords: LayerRecord[] = opts.layers.map((l, i) => ({
    name: l.name,
    slug: layerSlug(l.name),
    kind: l.kind,
    shape: l.shape,
    units: units(l.shape),
    rf: { size: [Math.min(l.rf, inputSize), Math.min(l.rf, inputSize)], stride: [l.stride, l.stride] },
    classLayer: i === lastIndex,
  }));
  const record: ModelRecord = {
    id: model,
    name: opts.modelName ?? model,
    input: { size: [inputSize, inputSize], channelOrder: 'BGR' },
    layers: layerRecords,
    labels: labels.map((l, index) => ({ index, ...l })),
  };
  await mkdir(join(root, model), { recursive: true });
  await writeFile(join(root, model, 'model.json'), JSON.stringify(record, null, 1) + '\n');
  const pool = await imagePool([inputSize, ...layerRecords.map((l) => l.rf.size[0])]);
  const pick = (size: number) => pool.get(size)![Math.floor(rand() * POOL)];
  // Max-image classes: every 25th class plus the cats (281 tabby…), so hidden units mention "tabby" too.
  const classPool = [...range(40).map((i) => i * 25), 281, 282, 285].filter((c) => c < labels.length);
  const files: [string, Buffer][] = [];
  let unitCount = 0;
  for (const [li, layer] of layerRecords.entries()) {
    const present = opts.layers[li].present ?? range(layer.units);
    const unitDir = join(root, model, 'units', layer.slug);
    await mkdir(unitDir, { recursive: true });
    const records: [string, string][] = [];
    for (const unit of present) {
      const img = `${model}/img/${layer.slug}/${unit}`;
      const skipOpt = opts.partial && unit % 7 === 3;
      const skipMax = opts.partial && unit % 7 === 5;
      const optimized: OptImage[] = [];
      if (!skipOpt) {
        for (const preset of ['decay', 'blur']) {
          for (const seed of [0, 1]) {
            const file = `${img}/opt-${preset}-${seed}.webp`;
            files.push([file, pick(inputSize)]);
            const best = 10 + rand() * 90;
            optimized.push({
              preset,
              seed,
              file,
              activation: best,
              start_activation: rand(),
              best_activation: best,
              final_activation: best * 0.98,
              steps: 200,
              argmax_step: rand() < 0.8 ? Math.floor(rand() * 200) : null,
              wall_ms: Math.round(2000 + rand() * 1000),
              objective: layer.shape.length === 3 ? 'center' : 'channel',
            });
          }
        }
      }
      const maxImages: MaxImage[] = [];
      if (!skipMax) {
        let value = 50 + rand() * 50;
        for (let k = 0; k < 9; k++) {
          const cls = classPool.length ? classPool[Math.floor(rand() * classPool.length)] : 0;
          const synset = labels[cls]?.synset;
          const size = layer.rf.size[0];
          maxImages.push({
            file: `${synset ?? 'img'}/${synset ?? 'img'}_${1000 + Math.floor(rand() * 9000)}.JPEG`,
            value,
            y: Math.floor(rand() * (layer.shape[1] ?? 1)),
            x: Math.floor(rand() * (layer.shape[2] ?? 1)),
            patch: `${img}/max-${k}.webp`,
            deconv: `${img}/deconv-${k}.webp`,
            heat: `${img}/heat-${k}.webp`,
            ...(labels[cls] ? { label: labels[cls].name } : {}),
            ...(synset ? { synset } : {}),
          });
          files.push([`${img}/max-${k}.webp`, pick(size)], [`${img}/deconv-${k}.webp`, pick(size)], [`${img}/heat-${k}.webp`, pick(size)]);
          value *= 0.9;
        }
      }
      const counts = new Map<string, { n: number; synset?: string }>();
      for (const m of maxImages) if (m.label) counts.set(m.label, { n: (counts.get(m.label)?.n ?? 0) + 1, synset: m.synset });
      const topClasses: TopClass[] = [...counts.entries()]
        .sort((a, b) => b[1].n - a[1].n || a[0].localeCompare(b[0]))
        .slice(0, 3)
        .map(([name, c]) => ({ name, ...(c.synset ? { synset: c.synset } : {}), count: c.n, source: 'topk' as const }));
      const rec: UnitRecord = {
        model,
        layer: layer.name,
        layerSlug: layer.slug,
        unit,
        ...(layer.classLayer && labels[unit] ? { label: labels[unit].name, ...(labels[unit].synset ? { synset: labels[unit].synset } : {}) } : {}),
        // as the scan writes them: a class unit's WordNet hypernyms, a hidden unit's covering concept
        ...(layer.classLayer && labels[unit]?.synset && hypernymsOf(labels[unit].synset!).length
          ? { hypernyms: hypernymsOf(labels[unit].synset!).map((h) => h.name) }
          : {}),
        ...(!layer.classLayer && maxImages.length ? conceptOf(maxImages.map((m) => m.synset)) : {}),
        rf: layer.rf,
        optimized,
        maxImages,
        topClasses,
        // as the scan writes them: activation statistics and (after the first layer) a circuit
        ...(maxImages.length ? { stats: syntheticStats(rand) } : {}),
        ...(li > 0 ? { circuit: syntheticCircuit(rand, layerRecords[li - 1]) } : {}),
      };
      records.push([join(unitDir, `${unit}.json`), JSON.stringify(rec, null, 1) + '\n']);
      unitCount++;
    }
    await mapLimit(records, 64, ([p, text]) => writeFile(p, text));
  }
  const dirs = new Set(files.map(([f]) => f.slice(0, f.lastIndexOf('/'))));
  await mapLimit([...dirs], 64, (d) => mkdir(join(root, d), { recursive: true }));
  await mapLimit(files, 64, ([f, buf]) => writeFile(join(root, f), buf));
  return { units: unitCount, images: files.length };
}

/** Default labels: $DEEPVIS_ASSETS's GoogLeNet synset words, else "class N". */
export async function defaultLabels(path?: string): Promise<{ synset?: string; name: string }[]> {
  const p = path ?? (process.env.DEEPVIS_ASSETS ? join(process.env.DEEPVIS_ASSETS, 'models/bvlc_googlenet/synset_words.txt') : undefined);
  if (p) return readSynsetWords(p);
  return range(1000).map((i) => ({ name: `class ${i}` }));
}

async function main() {
  const { values } = parseArgs({
    options: { out: { type: 'string' }, shape: { type: 'string' }, labels: { type: 'string' }, seed: { type: 'string' } },
  });
  const shape = values.shape ?? 'caffenet';
  if (shape !== 'caffenet' && shape !== 'small') throw new Error(`--shape must be caffenet or small, got ${shape}`);
  const out = values.out ?? (shape === 'caffenet' ? '.cache/synthetic-caffenet' : '.cache/synthetic-small');
  const t0 = Date.now();
  const r = await makeSyntheticGallery({
    out,
    clean: true,
    seed: Number(values.seed ?? 1),
    labels: await defaultLabels(values.labels),
    layers: shape === 'caffenet' ? CAFFENET_LAYERS : SMALL_LAYERS,
    partial: shape === 'small',
  });
  console.error(`wrote ${r.units} units and ${r.images} images to ${out} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) {
  await main();
}
