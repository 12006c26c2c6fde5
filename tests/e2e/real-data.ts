/**
 * Real pipeline output for the browser tests: a small SqueezeNet v1.1 gallery made by the CLI
 * itself (`deepvis optimize` + `deepvis scan`) from the shared assets — class units 276–286 of
 * pool10 (281 is tabby cat) with optimised images, top-9 patches and deconv over 32 sample photos,
 * and all 128 units of fire2/concat with optimised images (a layer that paginates), six of them
 * also with top images and top classes (sorting by class).
 * Built once per pipeline code version into .cache/e2e-real/ (locked against parallel test files).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runCli } from '../reference/cli.ts';
import { hashTree, withLock } from '../helpers/build-cache.ts';

const ROOT = resolve(new URL('../../', import.meta.url).pathname);
const WORK = join(ROOT, '.cache', 'e2e-real');

async function codeKey(): Promise<string> {
  const h = createHash('sha1');
  for (const dir of ['pipeline/stages/optimize', 'pipeline/stages/scan', 'pipeline/content', 'pipeline/engine/net']) await hashTree(join(ROOT, dir), h);
  h.update(process.env.DEEPVIS_ASSETS ?? '');
  h.update(await readFile(new URL(import.meta.url))); // this recipe itself
  return h.digest('hex').slice(0, 12);
}

async function cli(args: string[]): Promise<void> {
  const r = await runCli(args);
  if (r.code !== 0) throw new Error(`deepvis ${args.join(' ')} failed (${r.code}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
}

/** The data root of the real gallery, or undefined without DEEPVIS_ASSETS. */
export async function realPipelineData(): Promise<string | undefined> {
  const assets = process.env.DEEPVIS_ASSETS;
  if (!assets) return undefined;
  const dir = join(WORK, await codeKey());
  const data = join(dir, 'data');
  const done = join(dir, 'done');
  if (existsSync(done)) return data;
  await mkdir(WORK, { recursive: true });
  await withLock(`${dir}.lock`, async () => {
    if (existsSync(done)) return;
    const photos = join(dir, 'photos');
    await mkdir(photos, { recursive: true });
    const all = (await readdir(join(assets, 'images/imagenet-sample'))).sort();
    const pick = new Set(all.filter((f, i) => i % 32 === 0 || f.startsWith('n02123045_')));
    for (const f of pick) if (!existsSync(join(photos, f))) await symlink(resolve(assets, 'images/imagenet-sample', f), join(photos, f));
    const model = 'squeezenet_v1.1';
    await cli([
      'optimize',
      '--model',
      model,
      '--layers',
      'pool10',
      '--units',
      '276-286',
      '--presets',
      'fourier',
      '--seeds',
      '1',
      '--steps',
      '24',
      '--data',
      data,
    ]);
    await cli(['optimize', '--model', model, '--layers', 'fire2/concat', '--presets', 'fourier', '--seeds', '1', '--steps', '2', '--data', data]);
    await cli(['scan', '--model', model, '--images', photos, '--layers', 'pool10', '--units', '276-286', '--data', data]);
    await cli(['scan', '--model', model, '--images', photos, '--layers', 'fire2/concat', '--units', '0-5', '--data', data]);
    await writeFile(done, new Date().toISOString());
  });
  return data;
}
