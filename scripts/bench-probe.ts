/**
 * Probe benchmark: the live mode's frames per second in headless Chromium (Debian's, through
 * playwright-core) fed by Chromium's fake camera, per model, on a small gallery built with
 * `deepvis site build` (tests/e2e/probe-fixture.ts); plus the page weight before the network loads,
 * the network's download size and the time from "Load" to the first frame.
 *
 *   node bin/run-ts.mjs scripts/bench-probe.ts [--models squeezenet_v1.1,bvlc_googlenet] [--frames N] [--backend auto|wasm|webgl|cpu]
 * Needs DEEPVIS_ASSETS (the shared models). scripts/bench.ts can call benchProbe() and formatProbeBench().
 */
import type { Server } from 'node:http';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { serveSite } from '../pipeline/site/serve.ts';
import { buildProbeGallery } from '../tests/e2e/probe-fixture.ts';
import { launchProbeBrowser, pageWeight, probeState, waitForFrames } from '../tests/e2e/probe-page.ts';

export interface ProbeBenchRow {
  model: string;
  backend: string;
  /** Live-mode frames per second (camera frame → preprocessing → forward → drawing), steady state. */
  fps: number;
  /** Median forward pass (input tensor → activations and classes read back), ms. */
  forwardMs: number;
  frames: number;
  /** Bytes transferred before the network is requested. */
  pageBytes: number;
  /** Bytes of the network (weight shards). */
  netBytes: number;
  /** "Start webcam" click → first processed frame (TensorFlow.js, network download from 127.0.0.1, first run), ms. */
  firstFrameMs: number;
}

export interface ProbeBenchOptions {
  assets: string;
  models?: string[];
  /** Frames measured after 3 warm-up frames (default 20). */
  frames?: number;
  backend?: string;
}

export async function benchProbe(opts: ProbeBenchOptions): Promise<ProbeBenchRow[]> {
  const models = opts.models ?? ['squeezenet_v1.1', 'bvlc_googlenet'];
  const frames = opts.frames ?? 20;
  const browser = await launchProbeBrowser();
  const rows: ProbeBenchRow[] = [];
  try {
    for (const model of models) {
      process.stderr.write(`bench-probe: building the ${model} gallery…\n`);
      const g = await buildProbeGallery({ assets: opts.assets, model });
      let server: Server | undefined;
      try {
        const s = await serveSite({ dist: g.dist, port: 0, base: g.base });
        server = s.server;
        const site = s.url.endsWith('/') ? s.url : `${s.url}/`;
        const page = await browser.newPage();
        const query = opts.backend && opts.backend !== 'auto' ? `?backend=${opts.backend}` : '';
        const weight = await pageWeight(page, `${site}${g.model}/probe/${query}`);
        let netBytes = 0;
        page.on('requestfinished', (req) => {
          if (/shard\d+of\d+\.bin$/.test(req.url())) void req.sizes().then((z) => (netBytes += z.responseBodySize));
        });
        const t0 = Date.now();
        await page.click('#probe-cam');
        await waitForFrames(page, 1, 300_000);
        const firstFrameMs = Date.now() - t0;
        await waitForFrames(page, 3, 300_000);
        const forward: number[] = [];
        const a = await probeState(page);
        const ta = Date.now();
        for (let k = a.frames + 1; k <= a.frames + frames; k++) {
          await waitForFrames(page, k, 300_000);
          forward.push((await probeState(page)).forwardMs ?? NaN);
        }
        const b = await probeState(page);
        const tb = Date.now();
        await page.evaluate(() => window.__deepvisProbe!.stopCamera());
        await page.close();
        forward.sort((x, y) => x - y);
        rows.push({
          model,
          backend: b.backend ?? '?',
          fps: ((b.frames - a.frames) * 1000) / (tb - ta),
          forwardMs: forward[Math.floor(forward.length / 2)],
          frames: b.frames - a.frames,
          pageBytes: weight.bytes,
          netBytes,
          firstFrameMs,
        });
        process.stderr.write(`bench-probe: ${model}: ${rows.at(-1)!.fps.toFixed(2)} fps on ${b.backend}\n`);
      } finally {
        server?.close();
      }
    }
  } finally {
    await browser.close();
  }
  return rows;
}

export function formatProbeBench(rows: ProbeBenchRow[]): string {
  return [
    '## Probe (live mode in headless Chromium, fake camera, this machine)',
    '| model | backend | frames/s | forward ms (median) | frames | page before load | network | click → first frame |',
    '|---|---|---|---|---|---|---|---|',
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.backend} | ${r.fps.toFixed(2)} | ${r.forwardMs.toFixed(0)} | ${r.frames} | ${(r.pageBytes / 1024).toFixed(1)} KB | ${(r.netBytes / 1e6).toFixed(1)} MB | ${(r.firstFrameMs / 1000).toFixed(1)} s |`,
    ),
    '',
    'Target: ≥ 2 frames/s for SqueezeNet; page ≤ 100 KB before the network loads.',
  ].join('\n');
}

async function main() {
  const { values } = parseArgs({ options: { models: { type: 'string' }, frames: { type: 'string' }, backend: { type: 'string' } } });
  const assets = process.env.DEEPVIS_ASSETS;
  if (!assets) throw new Error('bench-probe needs DEEPVIS_ASSETS (the shared models)');
  const rows = await benchProbe({
    assets: resolve(assets),
    models: values.models
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    frames: values.frames ? Number(values.frames) : undefined,
    backend: values.backend,
  });
  console.log(formatProbeBench(rows));
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(new URL(import.meta.url).pathname)) await main();
