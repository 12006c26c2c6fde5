/**
 * The compute engines side by side, measured in ONE run on the same inputs: TensorFlow.js wasm and
 * ONNX Runtime (each with its default worker arrangement), and — when python3 with torch is present
 * (DEEPVIS_TORCH_PYTHON, else python3) — the same Caffe graph in PyTorch CPU eager as the reference
 * row. Per model: classify img/s, ms per img-step (forward + input gradient of one unit per image,
 * batch 8), scan img/s (the scan stage, every unit of the gallery layers tracked, no renders: as a
 * whole run and once started), CPU seconds of each measurement, and the ratios onnxruntime / wasm.
 *
 *   DEEPVIS_ASSETS=../shared node bin/run-ts.mjs scripts/bench-engines.ts [--images 64] [--scan-images 144] [--models bvlc_googlenet,squeezenet_v1.1] [--json]
 *
 * Also: `--arrangements` measures onnxruntime as 1 worker × every core too, beside its default of
 * one worker per core with one thread each (how the pool and ONNX Runtime's threads share the cores).
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Model } from '../pipeline/graph/types.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { scan } from '../pipeline/index.ts';
import { benchNet, NET_TARGETS } from './bench-net.ts';
import { BENCH_LAYERS } from './bench-scan-layers.ts';
import { measureTorch } from './torch-reference.ts';

const { values: a } = parseArgs({
  options: {
    images: { type: 'string', default: '64' },
    'scan-images': { type: 'string', default: '144' },
    models: { type: 'string', default: 'bvlc_googlenet,squeezenet_v1.1' },
    arrangements: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const assets = process.env.DEEPVIS_ASSETS;
if (!assets) {
  console.error('bench-engines: set DEEPVIS_ASSETS to the shared assets folder');
  process.exit(2);
}
const BATCH = 8;
const cores = availableParallelism();

interface Row {
  model: string;
  engine: string;
  arrangement: string;
  classifyImgPerSec?: number;
  classifyCpuS?: number;
  msPerImgStep: number;
  stepCpuS?: number;
  scanImgPerSec?: number;
  scanCpuS?: number;
  /** Images per second once started: the extra images of the long scan over its extra time. */
  scanSteadyImgPerSec?: number;
  scanSteadyCpuMsPerImg?: number;
}

async function timedScan(model: Model, backend: 'wasm' | 'onnxruntime', files: string[], layers: string[], workers?: number) {
  const data = await mkdtemp(join(tmpdir(), 'deepvis-bench-scan-'));
  try {
    const t = performance.now();
    const c = process.cpuUsage();
    const r = await scan(model, { images: files, data, layers, backend, workers, render: false, quiet: true, batch: BATCH });
    const u = process.cpuUsage(c);
    return { images: r.scanned, s: (performance.now() - t) / 1000, cpuS: (u.user + u.system) / 1e6 };
  } finally {
    await rm(data, { recursive: true, force: true });
  }
}

/**
 * A scan's rate as a run sees it (start-up included: workers, sessions, the records at the end)
 * and once started: a short scan (SCAN_SHORT photos) and a long one, the long one's extra images
 * over its extra time, which is what a gallery's thousands of photos run at.
 */
const SCAN_SHORT = 16;
async function measureScan(model: Model, backend: 'wasm' | 'onnxruntime', files: string[], layers: string[], workers?: number) {
  const short = await timedScan(model, backend, files.slice(0, SCAN_SHORT), layers, workers);
  const long = await timedScan(model, backend, files, layers, workers);
  const extra = long.images - short.images;
  return {
    imgPerSec: long.images / long.s,
    cpuS: long.cpuS,
    steadyImgPerSec: extra / (long.s - short.s),
    steadyCpuMsPerImg: ((long.cpuS - short.cpuS) * 1000) / extra,
  };
}

const dir = join(assets, 'images', 'imagenet-sample');
const photos = (await readdir(dir)).sort().map((f) => join(dir, f));
const files = photos.slice(0, Number(a.images));
const scanFiles = photos.slice(0, Number(a['scan-images']));
const rows: Row[] = [];
const notes: string[] = [];
const load0 = loadavg()[0];
const say = (s: string) => process.stderr.write(`${s}\n`);

for (const name of a.models.split(',')) {
  const model = await loadModel(join(assets, 'models', name));
  const stepBlob = NET_TARGETS[name].blob;
  const layers = Object.values(BENCH_LAYERS).find((l) => l.spec === name)!.layers;
  // Each engine's default arrangement (a worker per core, at most 2, one thread each); with
  // --arrangements also ONNX Runtime as one worker with every core.
  const configs: { engine: 'wasm' | 'onnxruntime'; workers: number; threads?: number }[] = [
    { engine: 'wasm', workers: Math.min(2, cores) },
    { engine: 'onnxruntime', workers: Math.min(2, cores), threads: Math.max(1, Math.floor(cores / Math.min(2, cores))) },
  ];
  if (a.arrangements) configs.push({ engine: 'onnxruntime', workers: 1, threads: cores });
  for (const cfg of configs) {
    if (cfg.threads) process.env.DEEPVIS_ORT_THREADS = String(cfg.threads);
    else delete process.env.DEEPVIS_ORT_THREADS;
    const arrangement =
      cfg.engine === 'wasm'
        ? `${cfg.workers} workers`
        : `${cfg.workers} worker${cfg.workers > 1 ? 's' : ''} × ${cfg.threads ?? Math.floor(cores / cfg.workers)} threads`;
    say(`bench-engines: ${name} on ${cfg.engine} (${arrangement})`);
    const [r] = await benchNet({
      assets,
      models: [name],
      workers: cfg.workers,
      batch: BATCH,
      images: files.length,
      steps: 3,
      backend: cfg.engine,
      cpuTime: false,
      log: () => {},
    });
    const s = await measureScan(model, cfg.engine, scanFiles, layers, cfg.workers);
    rows.push({
      model: name,
      engine: cfg.engine,
      arrangement,
      classifyImgPerSec: r.classify.imgPerSec,
      classifyCpuS: (r.classify.cpuMsPerImg * r.classify.images) / 1000,
      msPerImgStep: r.imgStep.msPerImgStep,
      stepCpuS: (r.imgStep.cpuMsPerImgStep * r.imgStep.images) / 1000,
      scanImgPerSec: s.imgPerSec,
      scanCpuS: s.cpuS,
      scanSteadyImgPerSec: s.steadyImgPerSec,
      scanSteadyCpuMsPerImg: s.steadyCpuMsPerImg,
    });
  }
  delete process.env.DEEPVIS_ORT_THREADS;
  say(`bench-engines: ${name} on PyTorch`);
  const t = await measureTorch(model, stepBlob, { batch: BATCH, threads: cores });
  if (typeof t === 'string') notes.push(`${name}: ${t}`);
  else
    rows.push({
      model: name,
      engine: `PyTorch ${t.torch} CPU eager`,
      arrangement: `${cores} threads`,
      classifyImgPerSec: t.forwardImgPerSec,
      msPerImgStep: t.msPerImgStep,
    });
}

const f1 = (v?: number) => (v === undefined ? '–' : v.toFixed(1));
const lines = [
  `Engines side by side (batch ${BATCH}, ${files.length} photos classified, scans of ${SCAN_SHORT} and ${scanFiles.length}, ${cores} cores; load average ${load0.toFixed(1)} → ${loadavg()[0].toFixed(1)})`,
  '',
  '| model | engine | arrangement | classify img/s (CPU s) | ms per img-step (CPU s) | scan img/s, whole run (CPU s) | scan img/s once started (CPU ms/img) |',
  '|---|---|---|---|---|---|---|',
  ...rows.map(
    (r) =>
      `| ${r.model} | ${r.engine} | ${r.arrangement} | ${f1(r.classifyImgPerSec)}${r.classifyCpuS ? ` (${f1(r.classifyCpuS)})` : ''} | ${f1(r.msPerImgStep)}${r.stepCpuS ? ` (${f1(r.stepCpuS)})` : ''} | ${f1(r.scanImgPerSec)}${r.scanCpuS ? ` (${f1(r.scanCpuS)})` : ''} | ${f1(r.scanSteadyImgPerSec)}${r.scanSteadyCpuMsPerImg ? ` (${r.scanSteadyCpuMsPerImg.toFixed(0)})` : ''} |`,
  ),
  '',
];
for (const name of a.models.split(',')) {
  const w = rows.find((r) => r.model === name && r.engine === 'wasm')!;
  const o = rows.find((r) => r.model === name && r.engine === 'onnxruntime')!;
  const p = rows.find((r) => r.model === name && r.engine.startsWith('PyTorch'));
  const ratio = (x?: number, y?: number) => (x && y ? `${(x / y).toFixed(2)}×` : '–');
  lines.push(
    `${name}: onnxruntime vs wasm — classify ${ratio(o.classifyImgPerSec, w.classifyImgPerSec)}, img-step ${ratio(w.msPerImgStep, o.msPerImgStep)} (target ≥ 2.5×), scan ${ratio(o.scanSteadyImgPerSec, w.scanSteadyImgPerSec)} once started (target ≥ 3×), ${ratio(o.scanImgPerSec, w.scanImgPerSec)} whole run` +
      (p ? `; vs PyTorch — forward ${ratio(o.classifyImgPerSec, p.classifyImgPerSec)}, img-step ${ratio(p.msPerImgStep, o.msPerImgStep)} (target > 1×)` : ''),
  );
}
lines.push(...notes);
console.error(lines.join('\n'));
if (a.json) console.log(JSON.stringify({ rows, notes }, null, 2));
