/**
 * Site benchmark at CaffeNet scale (10,568 units, 4 + 9 + 9 images each, synthetic):
 *   - `deepvis site build` wall time (astro build + Pagefind + image placement), cold;
 *   - peak RSS of the whole process tree (the CLI, the astro child, Pagefind's binary), by polling /proc;
 *   - unit page HTML size (max and median);
 *   - time to the first search result in headless Chromium, from the last keystroke of the query.
 *
 *   node bin/run-ts.mjs scripts/bench-site.ts [--data DIR] [--out DIR] [--runs N]
 * scripts/bench.ts calls benchSite() and formatSiteBench().
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { serveSite } from '../pipeline/site/serve.ts';
import { CAFFENET_LAYERS, defaultLabels, makeSyntheticGallery } from './make-synthetic-gallery.ts';

const ROOT = resolve(new URL('..', import.meta.url).pathname);

export interface SearchTiming {
  query: string;
  /** Page loaded ('load' event), typing starts at once: includes fetching the index. */
  coldMs: number;
  /** Index already warm (page idle before typing). */
  warmMs: number;
  /** Warm, typed at 10 keys/s (every prefix gets searched on the way). */
  typedMs: number;
  /** Bytes fetched by the cold query (responses after 'load'). */
  coldBytes: number;
  firstResult: string;
}

export interface SiteBenchResult {
  units: number;
  buildMs: number;
  /** User + system CPU time of the build's whole process tree. */
  buildCpuMs?: number;
  /** Load average (1 min) when the build started: the machine may be shared. */
  loadAverage: number;
  steps: Record<string, number>;
  peakTreeRssMb: number;
  peakProcessRssMb: number;
  /** The processes at the moment of the tree's peak. */
  peakParts: string[];
  unitPageBytes: { max: number; median: number; maxPage: string };
  searchBundleBytes: number;
  search: SearchTiming[];
  searchMedianMs: { cold: number; warm: number; typed: number };
}

/** RSS (kB) of every process in the tree rooted at `pid`, read from /proc. */
async function treeRss(pid: number): Promise<{ total: number; max: number; parts: string[] }> {
  const parent = new Map<number, number>();
  const rss = new Map<number, number>();
  const names = new Map<number, string>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = await readFile(`/proc/${name}/status`, 'utf8');
      const pp = /PPid:\s+(\d+)/.exec(status);
      const vm = /VmRSS:\s+(\d+)/.exec(status);
      parent.set(Number(name), pp ? Number(pp[1]) : 0);
      rss.set(Number(name), vm ? Number(vm[1]) : 0);
      const args = (await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
      names.set(
        Number(name),
        args
          .slice(0, 3)
          .map((a) => a.split('/').pop())
          .join(' '),
      );
    } catch {
      /* exited meanwhile */
    }
  }
  let total = 0;
  let max = 0;
  const parts: string[] = [];
  for (const [p, kb] of rss) {
    for (let q: number | undefined = p; q; q = parent.get(q)) {
      if (q === pid) {
        total += kb;
        max = Math.max(max, kb);
        if (kb > 10_000) parts.push(`${names.get(p)}: ${Math.round(kb / 1024)} MB`);
        break;
      }
    }
  }
  return { total, max, parts };
}

/** Runs a command, polling its process tree's RSS every 100 ms; resolves with the peaks and its stdout. */
export async function runMeasured(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  const t0 = Date.now();
  // CPU seconds of the whole tree (user + system), when GNU time is there: on a shared machine the
  // wall time depends on the other jobs, the CPU time much less.
  const timeFile = join(ROOT, '.cache', `bench-site-time-${process.pid}.txt`);
  const timed = existsSync('/usr/bin/time');
  const child = timed
    ? spawn('/usr/bin/time', ['-f', '%U %S', '-o', timeFile, cmd, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  let peakTotal = 0;
  let peakMax = 0;
  let peakParts: string[] = [];
  let running = true;
  const poll = (async () => {
    while (running) {
      const r = await treeRss(child.pid!);
      if (r.total > peakTotal) peakParts = r.parts;
      peakTotal = Math.max(peakTotal, r.total);
      peakMax = Math.max(peakMax, r.max);
      await new Promise((ok) => setTimeout(ok, 100));
    }
  })();
  const code: number = await new Promise((ok, fail) => child.on('error', fail).on('close', (c) => ok(c ?? 1)));
  running = false;
  await poll;
  if (code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed with exit ${code}`);
  let cpuMs: number | undefined;
  if (timed) {
    const [user, sys] = (await readFile(timeFile, 'utf8')).trim().split('\n').pop()!.split(' ').map(Number);
    cpuMs = Math.round((user + sys) * 1000);
    await rm(timeFile, { force: true });
  }
  return { ms: Date.now() - t0, cpuMs, peakTotalKb: peakTotal, peakMaxKb: peakMax, peakParts, stdout };
}

async function unitPageSizes(dist: string, model: string) {
  const sizes: { bytes: number; page: string }[] = [];
  for (const layer of await readdir(join(dist, model))) {
    const dir = join(dist, model, layer);
    if (!(await stat(dir)).isDirectory()) continue;
    for (const unit of await readdir(dir)) {
      if (!/^\d+$/.test(unit)) continue;
      const page = join(dir, unit, 'index.html');
      sizes.push({ bytes: (await stat(page)).size, page });
    }
  }
  sizes.sort((a, b) => a.bytes - b.bytes);
  const max = sizes[sizes.length - 1];
  return { max: max.bytes, median: sizes[Math.floor(sizes.length / 2)].bytes, maxPage: max.page };
}

async function dirBytes(dir: string): Promise<number> {
  let n = 0;
  for (const d of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    n += d.isDirectory() ? await dirBytes(p) : (await stat(p)).size;
  }
  return n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Time from the last keystroke of `query` to the first result link in the DOM, cold and warm. */
export async function measureSearch(dist: string, queries: string[], runs: number): Promise<SearchTiming[]> {
  const { launchChromium } = await import('../tests/e2e/browser.ts');
  const { server, url } = await serveSite({ dist, port: 0 });
  const browser = await launchChromium();
  const out: SearchTiming[] = [];
  try {
    for (const query of queries) {
      const cold: number[] = [];
      const warm: number[] = [];
      const typed: number[] = [];
      let bytes = 0;
      let firstResult = '';
      for (let r = 0; r < runs; r++) {
        for (const mode of ['cold', 'warm', 'typed'] as const) {
          const context = await browser.newContext(); // empty HTTP cache each time
          const page = await context.newPage();
          // In the page: the time of the last input event, and each time a first result appears.
          await page.addInitScript(() => {
            const w = window as unknown as { __lastInput: number; __firsts: number[] };
            w.__lastInput = 0;
            w.__firsts = [];
            document.addEventListener('input', () => (w.__lastInput = performance.now()), true);
            // Every render of results (exact matches replace the list in one go, so results may
            // never disappear between keystrokes): the first one after the last input is the answer.
            new MutationObserver(() => {
              if (document.querySelector('#results li a') !== null) w.__firsts.push(performance.now());
            }).observe(document, { subtree: true, childList: true });
          });
          let loaded = false;
          let fetched = 0;
          page.on('requestfinished', async (req) => {
            if (!loaded) return;
            const s = await req.sizes().catch(() => null);
            if (s) fetched += s.responseBodySize;
          });
          await page.goto(`${url}search/`, { waitUntil: 'load' });
          loaded = true;
          if (mode !== 'cold') await page.waitForLoadState('networkidle');
          await page.locator('#q').pressSequentially(query, { delay: mode === 'typed' ? 100 : 0 });
          const t = await page
            .waitForFunction(
              () => {
                const w = window as unknown as { __lastInput: number; __firsts: number[] };
                const first = w.__firsts.find((x) => x > w.__lastInput);
                const a = document.querySelector('#results li a');
                return first !== undefined && a ? { ms: first - w.__lastInput, href: a.getAttribute('href') ?? '' } : null;
              },
              undefined,
              { polling: 'raf', timeout: 20_000 },
            )
            .then((h) => h.jsonValue() as Promise<{ ms: number; href: string }>);
          ({ cold, warm, typed })[mode].push(t.ms);
          if (mode === 'cold') bytes = fetched;
          firstResult = t.href;
          await context.close();
        }
      }
      out.push({ query, coldMs: median(cold), warmMs: median(warm), typedMs: median(typed), coldBytes: bytes, firstResult });
    }
  } finally {
    await browser.close();
    server.close();
  }
  return out;
}

/** Queries from the content: the label and synset of class units 281 (tabby) and 1, and a layer. */
async function searchQueries(data: string): Promise<string[]> {
  const unit = async (n: number) => JSON.parse(await readFile(join(data, 'caffenet/units/fc8', `${n}.json`), 'utf8')) as { label?: string; synset?: string };
  const [a, b] = await Promise.all([unit(281), unit(1)]);
  const word = (label?: string) => label?.split(/[\s,]+/)[0] || 'unit';
  return [word(a.label), a.synset ?? '281', 'conv5', word(b.label)];
}

export async function benchSite(opts: { data?: string; out?: string; runs?: number } = {}): Promise<SiteBenchResult> {
  const data = resolve(opts.data ?? join(ROOT, '.cache/synthetic-caffenet'));
  const out = resolve(opts.out ?? join(ROOT, '.cache/bench-site-dist'));
  if (!existsSync(join(data, 'caffenet', 'model.json'))) {
    process.stderr.write(`bench-site: writing the synthetic CaffeNet gallery to ${data}…\n`);
    await makeSyntheticGallery({ out: data, clean: true, labels: await defaultLabels(), layers: CAFFENET_LAYERS });
  }
  await rm(out, { recursive: true, force: true });
  const loadAverage = loadavg()[0];
  const run = await runMeasured(process.execPath, [join(ROOT, 'bin/dev.mjs'), 'site', 'build', '--data', data, '--out', out], {
    ...process.env,
    DEEPVIS_QUIET: '1',
  });
  const m = /into .* in .*: astro (\S+), pagefind (\S+), images (\S+)/.exec(run.stdout);
  const units = Number(/\((\d+) units/.exec(run.stdout)?.[1] ?? 0);
  const pages = await unitPageSizes(out, 'caffenet');
  const search = await measureSearch(out, await searchQueries(data), opts.runs ?? 3);
  return {
    units,
    buildMs: run.ms,
    buildCpuMs: run.cpuMs,
    loadAverage,
    steps: m ? { astro: parseSeconds(m[1]), pagefind: parseSeconds(m[2]), images: parseSeconds(m[3]) } : {},
    peakTreeRssMb: Math.round(run.peakTotalKb / 1024),
    peakProcessRssMb: Math.round(run.peakMaxKb / 1024),
    peakParts: run.peakParts,
    unitPageBytes: { ...pages, maxPage: pages.maxPage.slice(out.length + 1) },
    searchBundleBytes: await dirBytes(join(out, 'pagefind')),
    search,
    searchMedianMs: { cold: median(search.map((s) => s.coldMs)), warm: median(search.map((s) => s.warmMs)), typed: median(search.map((s) => s.typedMs)) },
  };
}

function parseSeconds(s: string): number {
  const m = /^(?:(\d+)m)?(\d+)s$/.exec(s);
  return m ? (Number(m[1] ?? 0) * 60 + Number(m[2])) * 1000 : NaN;
}

export function formatSiteBench(r: SiteBenchResult): string {
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  const lines = [
    `## Site (synthetic CaffeNet gallery, ${r.units} units)`,
    `- site build total: ${s(r.buildMs)} (target ≤ 60 s; load average ${r.loadAverage.toFixed(1)} on ${cpus().length} CPUs at the start` +
      (r.buildCpuMs !== undefined ? `, ${s(r.buildCpuMs)} CPU time` : '') +
      ')' +
      (r.steps.astro !== undefined
        ? ` — astro ${s(r.steps.astro)}, pagefind ${s(r.steps.pagefind)}, images ${s(r.steps.images)} (the last two run at once)`
        : ''),
    `- peak RSS: ${r.peakTreeRssMb} MB for the whole process tree, ${r.peakProcessRssMb} MB for the largest process (target ≤ 1,536 MB); at the peak: ${r.peakParts.join(', ')}`,
    `- unit page HTML: max ${(r.unitPageBytes.max / 1024).toFixed(1)} KB (${r.unitPageBytes.maxPage}), median ${(r.unitPageBytes.median / 1024).toFixed(1)} KB (target ≤ 30 KB)`,
    `- search bundle: ${(r.searchBundleBytes / 1e6).toFixed(1)} MB`,
    `- first search result after the last keystroke, headless Chromium on 127.0.0.1 (target ≤ 0.5 s): median cold ${Math.round(r.searchMedianMs.cold)} ms, warm ${Math.round(r.searchMedianMs.warm)} ms, typed at 10 keys/s ${Math.round(r.searchMedianMs.typed)} ms`,
    '  (cold: typing starts at the load event, the index loads meanwhile; warm: after network idle; both type instantly)',
    ...r.search.map(
      (q) =>
        `  - "${q.query}": cold ${Math.round(q.coldMs)} ms (${(q.coldBytes / 1024).toFixed(0)} KB fetched), warm ${Math.round(q.warmMs)} ms, typed ${Math.round(q.typedMs)} ms → ${q.firstResult}`,
    ),
  ];
  return lines.join('\n');
}

async function main() {
  const { values } = parseArgs({ options: { data: { type: 'string' }, out: { type: 'string' }, runs: { type: 'string' } } });
  const r = await benchSite({ data: values.data, out: values.out, runs: values.runs ? Number(values.runs) : undefined });
  console.log(formatSiteBench(r));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
