/**
 * Runs `astro build` for the gallery in a child process (its memory is freed when it ends, and the
 * pipeline's TypeScript loader stays out of Vite's way), with the settings astro.config.mjs reads
 * from the environment. Progress: the unit pages Astro reports, against the number of units.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, readlink, rm, symlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Progress } from '../core/progress.ts';

/** The package folder that holds astro.config.mjs, site/ and pipeline/. */
const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface AstroBuildOptions {
  dataRoot: string;
  /** The validated content (pipeline/site/snapshot.ts) the Astro loader reads. */
  snapshot: string;
  outDir: string;
  cacheDir: string;
  base: string;
  pageSize: number;
  /** Pages Astro should write (sizes the heap limit). */
  expectedPages: number;
  /** Unit pages among them (the progress line counts these). */
  unitPages: number;
  quiet?: boolean;
}

/**
 * A heap limit for the astro child. V8 grows the heap lazily: at 10,568 pages the live heap after a
 * full GC peaked at ~350 MB while the heap reached 940 MB (RSS 1.0–1.5 GB between runs); a limit
 * makes it collect earlier (RSS ~0.9 GB, about the same CPU time): 384 MB + 40 KB per page, at
 * least 640 MB (810 MB at 10,568 pages).
 */
export function heapLimitMb(pages: number): number {
  return Math.max(640, Math.round(384 + pages * 0.04));
}

function astroDir(): string {
  const require = createRequire(join(PROJECT_ROOT, 'package.json'));
  return dirname(require.resolve('astro/package.json'));
}

/** Replaces `link` with a symlink to `target` unless it already is one. */
async function linkTo(link: string, target: string): Promise<void> {
  const current = await readlink(link).catch(() => undefined);
  if (current === target) return;
  await rm(link, { force: true, recursive: true });
  await symlink(target, link, 'dir');
}

/**
 * The build's work folder (in the user's cache, one per output folder) is Astro's project root:
 * it holds a copy of astro.config.mjs and site/, links to the package's pipeline/ (the pages import
 * it) and to the node_modules folder that holds Astro, the staging output and Astro's caches.
 * So everything Astro and Vite write (`.astro/` types, `node_modules/.vite`, the intermediate server
 * build) lands there, never in the installed package, and concurrent builds of different outputs
 * share nothing (Astro's fallback `<cwd>/.astro/` once made them corrupt each other).
 */
async function prepareRoot(root: string): Promise<void> {
  await mkdir(root, { recursive: true });
  await linkTo(join(root, 'node_modules'), dirname(astroDir()));
  await linkTo(join(root, 'pipeline'), join(PROJECT_ROOT, 'pipeline'));
  await rm(join(root, 'site'), { recursive: true, force: true });
  await cp(join(PROJECT_ROOT, 'site'), join(root, 'site'), { recursive: true });
  await cp(join(PROJECT_ROOT, 'astro.config.mjs'), join(root, 'astro.config.mjs'));
}

/**
 * Variables a parent Vite/Vitest process sets that Astro would take as its own: BASE_URL in
 * particular becomes import.meta.env.BASE_URL and overrides `base`.
 */
const INHERITED_VITE_VARS = /^(BASE_URL|MODE|DEV|PROD|SSR|SITE|ASSETS_PREFIX|NODE_ENV|TEST|VITEST.*)$/;

export async function runAstroBuild(o: AstroBuildOptions): Promise<void> {
  const env = {
    ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !INHERITED_VITE_VARS.test(k))),
    DEEPVIS_DATA: o.dataRoot,
    DEEPVIS_SNAPSHOT: o.snapshot,
    DEEPVIS_OUT: o.outDir,
    DEEPVIS_CACHE_DIR: o.cacheDir,
    DEEPVIS_VITE_CACHE_DIR: join(o.cacheDir, 'vite'),
    DEEPVIS_BASE: o.base,
    DEEPVIS_PAGE_SIZE: String(o.pageSize),
    ASTRO_TELEMETRY_DISABLED: '1',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    NODE_OPTIONS: [process.env.NODE_OPTIONS ?? '', `--max-old-space-size=${heapLimitMb(o.expectedPages)}`].join(' ').trim(),
  };
  const progress = new Progress({ label: 'astro build: unit pages', total: o.unitPages, rateUnit: 'pages/s', quiet: o.quiet });
  const root = dirname(o.outDir);
  await prepareRoot(root);
  const args = [join(astroDir(), 'astro.js'), 'build', '--root', root];
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  let pending = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    let pages = 0;
    for (const line of lines) {
      if (/\/\d+\/index\.html \(\+/.test(line) && !/\/page\/\d+\/index/.test(line)) pages++;
      else if (line.trim() && !/\.html \(\+/.test(line)) keep(line);
    }
    if (pages) progress.tick(pages);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => chunk.split('\n').filter(Boolean).forEach(keep));
  const code: number = await new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  progress.finish();
  if (code !== 0) {
    throw new Error(`astro build failed (exit ${code}):\n${tail.join('\n')}`);
  }
}
