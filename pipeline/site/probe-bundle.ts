/**
 * The probe page's application (site/probe/app.ts: TensorFlow.js, its backends, the pipeline's
 * executor) bundled by esbuild into `<dist>/_probe/` — not by Astro's Vite build, where rolling
 * up TensorFlow.js took ~15 s of every site build. The bundle depends on no gallery data, so it is
 * made once and kept in the cache (`<cache>/probe-bundle/builds/<key>/`), remade only when one of its input
 * files changes (their hashes are checked against the last build's list, kept per package folder). Each TensorFlow.js
 * backend stays its own lazily loaded chunk; the WebAssembly files sit beside the chunks and are
 * found from the module's own URL, so the bundle works under any deploy base.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeJsonAtomic } from '../io/atomic.ts';

/** The package folder (site/ and pipeline/ sources; node_modules for the bundled packages). */
const PACKAGE_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = join(PACKAGE_ROOT, 'site', 'probe', 'app.ts');
/** Where the bundle goes in the built site (a reserved model id). */
export const PROBE_BUNDLE_DIR = '_probe';

interface BundleMeta {
  esbuild: string;
  /** The folder under builds/ (named by the inputs' hash: never replaced, so concurrent builds can read it). */
  key: string;
  /** Absolute input path → sha-1 of its content. */
  inputs: Record<string, string>;
}

const sha1 = async (path: string) =>
  createHash('sha1')
    .update(await readFile(path))
    .digest('hex');

async function upToDate(meta: BundleMeta, esbuildVersion: string): Promise<boolean> {
  if (meta.esbuild !== esbuildVersion || !meta.key) return false;
  for (const [path, hash] of Object.entries(meta.inputs)) {
    const now = await sha1(path).catch(() => undefined);
    if (now !== hash) return false;
  }
  return true;
}

/** Makes (or reuses) the bundle under `cacheRoot` and returns its folder. */
export async function probeBundle(cacheRoot: string): Promise<string> {
  const require = createRequire(join(PACKAGE_ROOT, 'package.json'));
  const esbuild = (await import(require.resolve('esbuild'))) as typeof import('esbuild');
  const home = join(cacheRoot, 'probe-bundle');
  // One record per package folder: the inputs are absolute paths, and another checkout's files
  // being unchanged says nothing about this one's.
  const metaPath = join(home, `meta-${createHash('sha1').update(PACKAGE_ROOT).digest('hex').slice(0, 12)}.json`);
  const meta = await readFile(metaPath, 'utf8').then(
    (s) => JSON.parse(s) as BundleMeta,
    () => undefined,
  );
  if (meta && existsSync(join(home, 'builds', meta.key ?? '-')) && (await upToDate(meta, esbuild.version))) return join(home, 'builds', meta.key);

  const tmp = join(home, `out.${process.pid}.tmp`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const wasmFiles: string[] = [];
  const result = await esbuild.build({
    entryPoints: { app: ENTRY },
    absWorkingDir: PACKAGE_ROOT,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    legalComments: 'none',
    outdir: tmp,
    chunkNames: 'chunk-[hash]',
    metafile: true,
    logLevel: 'warning',
    define: { 'process.env.NODE_ENV': '"production"' },
    plugins: [
      {
        // Vite's `import url from 'x.wasm?url'`: the file beside the chunks, its URL from the chunk's.
        name: 'wasm-url',
        setup(build) {
          build.onResolve({ filter: /\.wasm\?url$/ }, (args) => ({
            path: require.resolve(args.path.slice(0, -'?url'.length), { paths: [args.resolveDir] }),
            namespace: 'wasm-url',
          }));
          build.onLoad({ filter: /.*/, namespace: 'wasm-url' }, async (args) => {
            await copyFile(args.path, join(tmp, basename(args.path)));
            wasmFiles.push(args.path);
            return { contents: `export default new URL(${JSON.stringify(`./${basename(args.path)}`)}, import.meta.url).href;`, loader: 'js' };
          });
        },
      },
    ],
  });
  const inputs: Record<string, string> = {};
  // real files only: not the wasm-url namespace, not modules a package's "browser" field disables
  const files = [...Object.keys(result.metafile.inputs).filter((p) => !/^\(?[a-z-]+\)?:/.test(p)), ...wasmFiles];
  for (const p of files) {
    const abs = resolve(PACKAGE_ROOT, p);
    inputs[abs] = await sha1(abs);
  }
  const key = createHash('sha1')
    .update(JSON.stringify([esbuild.version, Object.entries(inputs).sort()]))
    .digest('hex')
    .slice(0, 16);
  const out = join(home, 'builds', key);
  await mkdir(dirname(out), { recursive: true });
  try {
    await rename(tmp, out);
  } catch {
    await rm(tmp, { recursive: true, force: true }); // another build made the same one meanwhile
  }
  await writeJsonAtomic(metaPath, { esbuild: esbuild.version, key, inputs } satisfies BundleMeta);
  return out;
}

/** Copies the bundle into a built site's `_probe/`. */
export async function placeProbeBundle(bundle: string, dist: string): Promise<void> {
  await cp(bundle, join(dist, PROBE_BUNDLE_DIR), { recursive: true });
}
