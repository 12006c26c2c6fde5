/**
 * Network benchmark: classify throughput (img/s) and ms per img-step (forward + gradient of one
 * unit with respect to one input image, batched) on the worker pool, for GoogLeNet and SqueezeNet;
 * plus the same per-image costs measured as CPU time on one thread (robust to a busy machine).
 *
 *   DEEPVIS_ASSETS=../shared node bin/run-ts.mjs scripts/bench-net.ts \
 *     [--models bvlc_googlenet,squeezenet_v1.1] [--workers 2] [--batch 16] [--images 64] [--steps 3] [--backend auto] [--json]
 *
 * scripts/bench.ts calls `benchNet()`.
 */
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { loadavg } from 'node:os';
import { readdir } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { initBackend, parseBackend, type BackendChoice } from '../pipeline/engine/backend.ts';
import { loadModel } from '../pipeline/import/load.ts';
import { createNet } from '../pipeline/engine/create-net.ts';
import { createNetPool } from '../pipeline/engine/workers/pool.ts';
import { decodeImage } from '../pipeline/image/decode.ts';
import type { Model } from '../pipeline/graph/types.ts';
import type { ClassifyResult } from '../pipeline/stages/classify/handlers.ts';
import { imgSteps, type StepArgs } from './bench-net-handlers.ts';

const HANDLERS = fileURLToPath(new URL('./bench-net-handlers.ts', import.meta.url));

/** Targets on the 2-core reference machine; `blob` is the unit blob of the img-step. */
export const NET_TARGETS: Record<string, { imgPerSec: number; msPerImgStep: number; blob: string }> = {
  bvlc_googlenet: { imgPerSec: 10, msPerImgStep: 150, blob: 'loss3/classifier' },
  'squeezenet_v1.1': { imgPerSec: 30, msPerImgStep: 40, blob: 'pool10' },
};

export interface NetBenchOptions {
  assets: string;
  models?: string[];
  workers?: number;
  /** Images per batch (classify and img-step). */
  batch?: number;
  /** Photos classified. */
  images?: number;
  /** Gradient steps per worker. */
  steps?: number;
  backend?: BackendChoice;
  /** Also measure one-thread CPU time per image (default true). */
  cpuTime?: boolean;
  log?: (line: string) => void;
}

export interface NetBenchResult {
  model: string;
  backend: string;
  workers: number;
  batch: number;
  /** `cores`: the process's CPU time over wall time while it ran (≤ workers; less when the machine is shared). */
  classify: { imgPerSec: number; images: number; top1: number; decodeMsPerImg: number; cpuMsPerImg: number; cores: number };
  imgStep: { msPerImgStep: number; blob: string; images: number; cpuMsPerImgStep: number; cores: number };
  /** One thread, CPU time (not wall): what one worker costs on an idle core. */
  cpuMsPerImg?: { forward: number; step: number };
  targets: { imgPerSec: number; msPerImgStep: number };
  met: { classify: boolean; imgStep: boolean };
  /** 1-minute load average before and after (other processes slow wall-clock figures down). */
  load: [number, number];
}

const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;

function classBlob(model: Model): { blob: string; softmax: boolean } {
  const last = model.graph.layers[model.graph.layers.length - 1];
  return { blob: last.tops[0], softmax: last.kind !== 'softmax' };
}

/** One-thread CPU time per image of a forward pass (class blob) and of an img-step (the pool's task). */
function cpuPerImage(model: Model, stepBlob: string, batch: number): { forward: number; step: number } {
  const net = createNet(model);
  const [C, H, W] = model.graph.input.shape;
  const { blob } = classBlob(model);
  const x = tf.randomNormal([batch, H, W, C], 0, 10, 'float32', 1) as tf.Tensor4D;
  const cpu = (f: () => unknown) => {
    const t = process.cpuUsage();
    f();
    const u = process.cpuUsage(t);
    return (u.user + u.system) / 1000;
  };
  const fwd = () => tf.tidy(() => net.forward(x, [blob])[blob].dataSync());
  fwd();
  const forward = Math.min(cpu(fwd), cpu(fwd), cpu(fwd)) / batch;
  const units = Array.from({ length: batch }, (_, i) => (i * 97) % 1000);
  const steps = 3;
  const step = cpu(() => imgSteps({ net, model, tf }, { blob: stepBlob, units, steps, seed: 1 })) / (batch * (steps + 1));
  x.dispose();
  net.dispose();
  return { forward, step };
}

export async function benchNet(o: NetBenchOptions): Promise<NetBenchResult[]> {
  const log = o.log ?? ((s: string) => process.stderr.write(s + '\n'));
  const models = o.models ?? Object.keys(NET_TARGETS);
  const workers = o.workers ?? 2;
  const batch = o.batch ?? 16;
  const backendChoice = o.backend ?? 'auto';
  const dir = join(o.assets, 'images', 'imagenet-sample');
  const files = (await readdir(dir))
    .sort()
    .slice(0, o.images ?? 64)
    .map((f) => join(dir, f));
  const results: NetBenchResult[] = [];
  for (const name of models) {
    const target = NET_TARGETS[name];
    if (!target) throw new Error(`bench-net: no targets for model ${name}`);
    const load0 = loadavg()[0];
    const model = await loadModel(join(o.assets, 'models', name));
    const [, H, W] = model.graph.input.shape;

    // Inputs: real photos, decoded and preprocessed once (decode time reported on its own).
    const t0 = performance.now();
    const inputs = await Promise.all(files.map((f) => decodeImage(f, model.preprocess)));
    const decodeMsPerImg = (performance.now() - t0) / files.length;

    const pool = await createNetPool({ model, backend: backendChoice, workers, handlers: HANDLERS });
    try {
      const { blob, softmax } = classBlob(model);
      const batches: { data: Float32Array; n: number; first: number }[] = [];
      for (let i = 0; i < inputs.length; i += batch) {
        const part = inputs.slice(i, i + batch);
        const data = new Float32Array(part.length * H * W * 3);
        part.forEach((im, j) => data.set(im.input, j * H * W * 3));
        batches.push({ data, n: part.length, first: i });
      }
      const classify = (b: (typeof batches)[number]) => pool.run<ClassifyResult>('classifyBatch', { data: b.data, n: b.n, h: H, w: W, blob, softmax, top: 1 });
      await Promise.all(Array.from({ length: pool.size }, () => classify(batches[0]))); // warm-up: one batch per worker
      const tc = performance.now();
      const cc = process.cpuUsage();
      const res = await Promise.all(batches.map(classify));
      const classifyWall = performance.now() - tc;
      const classifyCpu = cpuMs(process.cpuUsage(cc));
      const imgPerSec = inputs.length / (classifyWall / 1000);
      let top1 = 0;
      res.forEach((r, bi) => {
        for (let j = 0; j < batches[bi].n; j++) {
          const file = files[batches[bi].first + j].split('/').pop()!;
          if (model.labels?.[r.indices[j]]?.synset === file.split('_')[0]) top1++;
        }
      });

      const steps = o.steps ?? 3;
      const ts = performance.now();
      const cs = process.cpuUsage();
      const stepRuns = await Promise.all(
        Array.from({ length: pool.size }, (_, w) =>
          pool.run<{ ms: number; images: number }>('imgSteps', {
            blob: target.blob,
            units: Array.from({ length: batch }, (_, i) => (w * 389 + i * 97) % 1000),
            steps,
            seed: w + 1,
          } satisfies StepArgs),
        ),
      );
      const stepWall = performance.now() - ts;
      const stepCpu = cpuMs(process.cpuUsage(cs));
      const stepImages = stepRuns.reduce((a, r) => a + r.images, 0);
      const msPerImgStep = Math.max(...stepRuns.map((r) => r.ms)) / stepImages;

      let cpuMsPerImg: NetBenchResult['cpuMsPerImg'];
      if (o.cpuTime ?? true) {
        await initBackend(backendChoice);
        cpuMsPerImg = cpuPerImage(model, target.blob, Math.min(batch, 8));
      }
      const r: NetBenchResult = {
        model: name,
        backend: pool.backend,
        workers: pool.size,
        batch,
        classify: {
          imgPerSec,
          images: inputs.length,
          top1: top1 / inputs.length,
          decodeMsPerImg,
          cpuMsPerImg: classifyCpu / inputs.length,
          cores: classifyCpu / classifyWall,
        },
        // CPU per img-step counts the warm-up step each worker runs too.
        imgStep: {
          msPerImgStep,
          blob: target.blob,
          images: stepImages,
          cpuMsPerImgStep: stepCpu / (stepImages + pool.size * batch),
          cores: stepCpu / stepWall,
        },
        cpuMsPerImg,
        targets: { imgPerSec: target.imgPerSec, msPerImgStep: target.msPerImgStep },
        met: { classify: imgPerSec >= target.imgPerSec, imgStep: msPerImgStep <= target.msPerImgStep },
        load: [load0, loadavg()[0]],
      };
      log(formatResult(r));
      results.push(r);
    } finally {
      await pool.close();
    }
  }
  return results;
}

export function formatResult(r: NetBenchResult): string {
  const ok = (b: boolean) => (b ? 'ok' : 'MISSED');
  const c = r.classify,
    s = r.imgStep;
  const cpu = r.cpuMsPerImg ? `\n  one thread, CPU time: forward ${r.cpuMsPerImg.forward.toFixed(1)} ms/img, img-step ${r.cpuMsPerImg.step.toFixed(1)} ms` : '';
  return (
    `${r.model} [${r.backend}, ${r.workers} workers, batch ${r.batch}; load average ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)}]\n` +
    `  classify ${c.imgPerSec.toFixed(1)} img/s (target ≥ ${r.targets.imgPerSec}: ${ok(r.met.classify)}); ${c.cpuMsPerImg.toFixed(1)} CPU ms/img on ${c.cores.toFixed(2)} cores; ` +
    `top-1 ${(c.top1 * 100).toFixed(0)}% of ${c.images} photos; decoding ${c.decodeMsPerImg.toFixed(1)} ms/img not included\n` +
    `  img-step ${s.msPerImgStep.toFixed(1)} ms (${s.blob}; target ≤ ${r.targets.msPerImgStep}: ${ok(r.met.imgStep)}); ${s.cpuMsPerImgStep.toFixed(1)} CPU ms per img-step on ${s.cores.toFixed(2)} cores` +
    cpu
  );
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values: a } = parseArgs({
    options: {
      models: { type: 'string' },
      workers: { type: 'string', default: '2' },
      batch: { type: 'string', default: '16' },
      images: { type: 'string', default: '64' },
      steps: { type: 'string', default: '3' },
      backend: { type: 'string', default: 'auto' },
      json: { type: 'boolean', default: false },
    },
  });
  const assets = process.env.DEEPVIS_ASSETS;
  if (!assets) {
    console.error('bench-net: set DEEPVIS_ASSETS to the shared assets folder');
    process.exit(2);
  }
  const results = await benchNet({
    assets,
    models: a.models?.split(','),
    workers: Number(a.workers),
    batch: Number(a.batch),
    images: Number(a.images),
    steps: Number(a.steps),
    backend: parseBackend(a.backend),
  });
  if (a.json) console.log(JSON.stringify(results, null, 2));
}
