// The published package as a user gets it: `npm pack` (which builds lib/), installed into an empty
// folder, then the CLI and the README's library example run from there — with the network cut off
// (`unshare -n`) where this machine allows it. Nothing may be written inside node_modules/deepvis.
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireAssets } from './helpers/assets.ts';

const ROOT = join(import.meta.dirname, '..');
const assets = requireAssets();
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };

/** `unshare -n` when this machine lets us run a command without network, else nothing. */
const offline = spawnSync('unshare', ['-n', 'true']).status === 0 ? ['unshare', '-n'] : [];

/** Every path under `dir` with its size and mtime: what "nothing written" is checked against. */
function listing(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const s = statSync(p);
      out.push(`${relative(dir, p)} ${e.isDirectory() ? 'dir' : s.size} ${s.mtimeMs}`);
      if (e.isDirectory()) walk(p);
    }
  };
  walk(dir);
  return out.sort();
}

/** The README's library example (between its library-example markers). */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const m = /<!-- library-example:start[^>]*-->\s*```js\n([\s\S]*?)```\s*<!-- library-example:end -->/.exec(readme);
  if (!m) throw new Error('README.md: no library example between the library-example markers');
  return m[1];
}

let consumer: string;
let before: string[];
let env: NodeJS.ProcessEnv;

const deepvis = (...args: string[]) => {
  const [cmd, ...pre] = offline.length ? offline : [process.execPath];
  const argv = offline.length
    ? [...pre, process.execPath, join(consumer, 'node_modules/.bin/deepvis'), ...args]
    : [join(consumer, 'node_modules/.bin/deepvis'), ...args];
  return spawnSync(cmd, argv, { cwd: consumer, env, encoding: 'utf8' });
};

describe.skipIf(!assets.dir)(
  `the npm package, installed into an empty folder${offline.length ? ', run without network' : ''} ${assets.skipReason ?? ''}`,
  () => {
    beforeAll(async () => {
      const work = await mkdtemp(join(tmpdir(), 'deepvis-pack-'));
      execFileSync('npm', ['pack', '--pack-destination', work, '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
      const tgz = (await readdir(work)).find((f) => f.endsWith('.tgz'));
      consumer = join(work, 'consumer');
      await mkdir(consumer);
      await writeFile(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
      // The registry (or npm's cache from the checkout's own install) provides the dependencies.
      // ONNXRUNTIME_NODE_INSTALL=skip: onnxruntime-node's install script would otherwise fetch CUDA
      // libraries from nuget.org on Linux x64 (the README's offline install says the same).
      execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', join(work, tgz!)], {
        cwd: consumer,
        stdio: ['ignore', 'ignore', 'inherit'],
        env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' },
      });
      const photos = join(consumer, 'photos');
      await mkdir(photos);
      const sample = join(assets.dir!, 'images', 'imagenet-sample');
      for (const f of (await readdir(sample)).sort().slice(0, 6)) await cp(join(sample, f), join(photos, f));
      env = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        DEEPVIS_ASSETS: assets.dir,
        DEEPVIS_CACHE: join(work, 'cache'),
        XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR,
      };
      before = listing(join(consumer, 'node_modules/deepvis'));
    }, 600_000);

    it('ships the compiled CLI, the site and the docs, not the tests, scripts or CI files', () => {
      const top = new Set(before.map((l) => l.split('/')[0].split(' ')[0]));
      expect([...top].sort()).toEqual(['LICENSE', 'README.md', 'astro.config.mjs', 'bin', 'docs', 'lib', 'package.json', 'pipeline', 'site']);
      expect(before.some((l) => l.startsWith('lib/cli/main.js '))).toBe(true);
      expect(before.some((l) => l.startsWith('lib/index.d.ts '))).toBe(true);
      expect(before.some((l) => l.startsWith('lib/engine/vendor/tfjs-gradients.cjs '))).toBe(true);
      // Runtime dependencies are what runs: no TypeScript loader, no TensorFlow.js umbrella.
      for (const dev of ['tsx', '@tensorflow/tfjs', '@tensorflow/tfjs-layers', 'vitest', 'playwright-core'])
        expect(statSync(join(consumer, 'node_modules', dev), { throwIfNoEntry: false }), dev).toBeUndefined();
    });

    it('answers --version and --help, and inspects and classifies', () => {
      const v = deepvis('--version');
      expect(v.status, v.stderr).toBe(0);
      expect(v.stdout.trim()).toBe(pkg.version);
      const h = deepvis('--help');
      expect(h.status, h.stderr).toBe(0);
      expect(h.stdout).toMatch(/usage: deepvis <command>/);
      const i = deepvis('inspect', '--model', 'squeezenet_v1.1');
      expect(i.status, i.stderr).toBe(0);
      expect(i.stdout).toMatch(/40 blobs, 8,955 units/);
      const c = deepvis('classify', '--model', 'squeezenet_v1.1', '--json', 'photos');
      expect(c.status, c.stderr).toBe(0);
      const lines = c.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { file: string; top: { label: string }[] });
      expect(lines).toHaveLength(6);
      expect(lines[0].top).toHaveLength(5);
    });

    it('runs a small gallery (SqueezeNet, a few units) into a built site', () => {
      const r = deepvis(
        'run',
        '--model',
        'squeezenet_v1.1',
        '--images',
        'photos',
        '--layers',
        'fire9/concat',
        '--data',
        'data',
        '--dist',
        'site',
        '--quiet',
        '--json',
      );
      expect(r.status, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout) as { model: string; units: number; stages: { stage: string }[] };
      expect(summary.model).toBe('squeezenet_v1.1');
      // auto picked ONNX Runtime: an optional dependency, installed here
      expect(statSync(join(consumer, 'node_modules', 'onnxruntime-node'), { throwIfNoEntry: false })?.isDirectory()).toBe(true);
      expect(summary.units).toBeGreaterThan(0);
      expect(summary.stages.map((s) => s.stage)).toEqual(['optimize', 'scan', 'site']);
      expect(statSync(join(consumer, 'site/index.html')).isFile()).toBe(true);
      expect(statSync(join(consumer, 'site/pagefind/pagefind.js')).isFile()).toBe(true);
    });

    it("runs the README's library example against the package's exports", async () => {
      await writeFile(join(consumer, 'example.mjs'), readmeExample());
      await mkdir(join(consumer, 'lib-run'));
      await cp(join(consumer, 'photos'), join(consumer, 'lib-run/photos'), { recursive: true });
      const [cmd, ...pre] = offline.length ? offline : [process.execPath];
      const argv = offline.length ? [...pre, process.execPath, '../example.mjs'] : ['../example.mjs'];
      const r = spawnSync(cmd, argv, { cwd: join(consumer, 'lib-run'), env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/^photos\/\S+ .+\n\d+ pages in \S+\/site\n$/);
      const units = await readdir(join(consumer, 'lib-run/data/squeezenet_v1.1/units/fire9-concat'));
      expect(units.sort()).toEqual(['0', '1']);
    });

    it('wrote nothing inside node_modules/deepvis (caches and scratch live in the cache folder)', () => {
      expect(listing(join(consumer, 'node_modules/deepvis'))).toEqual(before);
      for (const hidden of ['.vite', '.astro', '.cache'])
        expect(statSync(join(consumer, 'node_modules', hidden), { throwIfNoEntry: false }), hidden).toBeUndefined();
    });
  },
);
