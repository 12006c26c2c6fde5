/**
 * A small gallery for the probe tests and benchmark: a shared model (SqueezeNet by default) with
 * synthetic unit records for a few of its real blobs, its model.json naming the model as `source`,
 * built with `deepvis site build` (base `/probe-test/` by default) and cached under .cache/e2e-probe/
 * until the site, probe or export code changes.
 */
import { createHash } from 'node:crypto';
import { hashTree, withLock } from '../helpers/build-cache.ts';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { buildSite } from '../../pipeline/site/build.ts';
import { probeNetDir } from '../../pipeline/site/export/paths.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { makeSyntheticGallery, type SyntheticLayer } from '../../scripts/make-synthetic-gallery.ts';

export const ROOT = resolve(new URL('../../', import.meta.url).pathname);

/** The fixture's model without a `source` (no probe network). */
export const NO_SOURCE = 'no-source';

export interface ProbeGallery {
  dataDir: string;
  dist: string;
  base: string;
  model: string;
  /** Gallery layers (blob names) and their unit records. */
  layers: { name: string; units: number[] }[];
}

/** Gallery layers per model: a few real blobs with some units each. */
const LAYERS: Record<string, { name: string; present: number }[]> = {
  'squeezenet_v1.1': [
    { name: 'conv1', present: 16 },
    { name: 'fire5/concat', present: 24 },
    { name: 'prob', present: 40 },
  ],
  bvlc_googlenet: [
    { name: 'conv1/7x7_s2', present: 16 },
    { name: 'inception_4c/output', present: 24 },
    { name: 'prob', present: 40 },
  ],
};

export async function buildProbeGallery(opts: { assets: string; model?: string; base?: string }): Promise<ProbeGallery> {
  const model = opts.model ?? 'squeezenet_v1.1';
  const base = opts.base ?? '/probe-test/';
  const source = join(opts.assets, 'models', model);
  const h = createHash('sha1').update(`${model}\n${base}\n${source}\n`);
  for (const dir of ['site', 'pipeline/site', 'pipeline/content', 'pipeline/site/export', 'pipeline/engine/net', 'pipeline/graph'])
    await hashTree(join(ROOT, dir), h);
  h.update(await readFile(join(ROOT, 'astro.config.mjs')));
  h.update(await readFile(join(ROOT, 'pipeline/image/decode.ts')));
  const key = h.digest('hex').slice(0, 12);
  const dir = join(ROOT, '.cache', 'e2e-probe', key);
  const dataDir = join(dir, 'data');
  const dist = join(dir, 'dist');
  const spec = LAYERS[model];
  if (!spec) throw new Error(`no probe gallery layout for ${model}`);
  const layers = spec.map((l) => ({ name: l.name, units: Array.from({ length: l.present }, (_, i) => i) }));
  await mkdir(dirname(dir), { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(join(dir, 'done'))) return;
    await rm(dataDir, { recursive: true, force: true });
    const net = await loadModel(source, { weights: false });
    const blob = (name: string) => net.graph.blobs.find((b) => b.name === name)!;
    const synthetic: SyntheticLayer[] = spec.map((l) => {
      const b = blob(l.name);
      return {
        name: l.name,
        kind: b.producer,
        shape: b.shape,
        rf: b.rf.size[0],
        stride: b.rf.stride[0],
        present: Array.from({ length: l.present }, (_, i) => i),
      };
    });
    await makeSyntheticGallery({
      out: dataDir,
      model,
      modelName: model === 'squeezenet_v1.1' ? 'SqueezeNet v1.1' : 'GoogLeNet',
      seed: 11,
      inputSize: net.preprocess.size[0],
      layers: synthetic,
      labels: (net.labels ?? []).map(({ synset, name }) => ({ synset, name })),
    });
    // A second model without `source`: its probe page must say the probe is not available.
    await makeSyntheticGallery({
      out: dataDir,
      model: NO_SOURCE,
      seed: 2,
      labels: [{ name: 'a' }, { name: 'b' }],
      layers: [{ name: 'prob', kind: 'softmax', shape: [2], rf: 227, stride: 1 }],
    });
    const file = join(dataDir, model, 'model.json');
    const record = JSON.parse(await readFile(file, 'utf8'));
    await writeFile(file, JSON.stringify({ ...record, source }, null, 1) + '\n');
    await buildSite({ data: dataDir, out: dist, base, quiet: true });
    if (!existsSync(join(dist, probeNetDir(model), 'model.json'))) throw new Error(`site build did not export the probe network of ${model}`);
    await writeFile(join(dir, 'done'), new Date().toISOString());
  });
  return { dataDir, dist, base, model, layers };
}

function dirname(p: string): string {
  return p.slice(0, p.lastIndexOf('/'));
}
