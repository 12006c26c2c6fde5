/**
 * `npm run bench`: every benchmark of the project, one after another (each in its own process, so
 * one's memory and warm caches do not colour the next), into one readable report:
 * reports/bench.md (and the raw output of each part under reports/bench-<part>.log).
 *
 *   DEEPVIS_ASSETS=../shared npm run bench [-- --only net,scan] [-- --quick]
 *
 * Parts: net (classify img/s, ms per img-step), engines (wasm vs onnxruntime vs PyTorch, one run), optimize (img-steps/s, cross-model quality per
 * preset), scan (images/s, maps/s), site (CaffeNet-scale build time, RSS, page size, search
 * latency), probe (live-mode fps in headless Chromium), cluster (a queue of 3 workers vs one
 * process, queue overhead per job). Targets are printed beside the figures.
 * Timings depend on the machine being otherwise idle: the load average is recorded.
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');
const args = process.argv.slice(2);
const onlyArg = args.indexOf('--only');
const only = onlyArg >= 0 ? new Set(args[onlyArg + 1]?.split(',')) : undefined;
const quick = args.includes('--quick');

interface Part {
  name: string;
  title: string;
  script: string;
  args: string[];
  needsAssets: boolean;
}

const PARTS: Part[] = [
  {
    name: 'net',
    title: 'Network: classify throughput and img-step (issue 2)',
    script: 'scripts/bench-net.ts',
    args: quick ? ['--images', '32'] : [],
    needsAssets: true,
  },
  {
    name: 'engines',
    title: 'Compute engines side by side: wasm, onnxruntime, PyTorch CPU when present (issue 13)',
    script: 'scripts/bench-engines.ts',
    args: quick ? ['--images', '32'] : ['--arrangements'],
    needsAssets: true,
  },
  {
    name: 'optimize',
    title: 'Activation maximisation: speed and cross-model quality (issue 3)',
    script: 'scripts/bench-optimize.ts',
    args: quick ? ['--quality-units', '10', '--quality-steps', '64'] : [],
    needsAssets: true,
  },
  {
    name: 'scan',
    title: 'Max images and deconv: scan speed (issue 4)',
    script: 'scripts/bench-scan.ts',
    args: quick ? ['--images', '64'] : [],
    needsAssets: true,
  },
  { name: 'site', title: 'Gallery site at CaffeNet scale (issue 5)', script: 'scripts/bench-site.ts', args: [], needsAssets: false },
  { name: 'probe', title: 'Live probe in headless Chromium (issue 8)', script: 'scripts/bench-probe.ts', args: [], needsAssets: true },
  {
    name: 'cluster',
    title: 'One gallery on a BullMQ queue with 3 workers vs one process; overhead per job (issue 14)',
    script: 'scripts/bench-cluster.ts',
    args: quick ? ['--images', '40'] : [],
    needsAssets: true,
  },
];

function runPart(p: Part, log: string[]): Promise<number> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [join(ROOT, 'bin/run-ts.mjs'), p.script, ...p.args], {
      cwd: ROOT,
      env: { ...process.env, DEEPVIS_QUIET: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => {
      process.stdout.write(d);
      log.push(d.toString());
    });
    child.stderr.on('data', (d: Buffer) => {
      process.stderr.write(d);
      log.push(d.toString());
    });
    child.on('close', (code) => done(code ?? 1));
  });
}

const reportDir = join(ROOT, 'reports');
await mkdir(reportDir, { recursive: true });
const started = new Date();
const sections: string[] = [
  `# deepvis benchmark report`,
  '',
  `- date: ${started.toISOString()}`,
  `- machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
  `- load average at start: ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} (figures are wall-clock: run on an idle machine)`,
  `- DEEPVIS_ASSETS: ${process.env.DEEPVIS_ASSETS ?? '(unset: parts that need the shared models are skipped)'}`,
  '',
];
let failed = 0;
for (const p of PARTS) {
  if (only && !only.has(p.name)) continue;
  sections.push(`## ${p.title}`, '');
  if (p.needsAssets && !process.env.DEEPVIS_ASSETS) {
    sections.push('skipped: DEEPVIS_ASSETS is not set', '');
    continue;
  }
  console.error(`\n== bench ${p.name}: node bin/run-ts.mjs ${p.script} ${p.args.join(' ')}`);
  const log: string[] = [];
  const t0 = Date.now();
  const code = await runPart(p, log);
  const text = log
    .join('')
    .replace(/\r/g, '\n')
    .split('\n')
    .filter((l) => l.trim() && !/\[[#.]{5,}\]/.test(l))
    .join('\n');
  await writeFile(join(reportDir, `bench-${p.name}.log`), log.join(''));
  sections.push(
    `command: \`node bin/run-ts.mjs ${[p.script, ...p.args].join(' ')}\` — ${((Date.now() - t0) / 1000).toFixed(0)} s, exit ${code}`,
    '',
    '```',
    text,
    '```',
    '',
  );
  if (code !== 0) failed++;
  await writeFile(join(reportDir, 'bench.md'), sections.join('\n') + '\n');
}
await writeFile(join(reportDir, 'bench.md'), sections.join('\n') + '\n');
console.error(`\nbench: report written to ${join(reportDir, 'bench.md')}${failed ? ` (${failed} part(s) failed)` : ''}`);
process.exit(failed ? 1 : 0);
