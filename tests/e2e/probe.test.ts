/**
 * The probe page end to end in Debian's Chromium, on a small SqueezeNet gallery built with
 * `--base /probe-test/`: page weight before the network loads, an uploaded photo gives the same
 * top-1 as `deepvis classify` and the same activations as `deepvis activations` (1e-3 relative to
 * the blob's largest value), unit selection, gallery links under the base, and the fake camera
 * driving the live mode.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRgb } from '../../pipeline/image/decode.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { serveSite } from '../../pipeline/site/serve.ts';
import { requireAssets } from '../helpers/assets.ts';
import { requireChromium } from './browser.ts';
import { buildProbeGallery, NO_SOURCE, type ProbeGallery } from './probe-fixture.ts';
import { launchProbeBrowser, loadNetwork, loadPhoto, pageWeight, probeState, samePixels, unitAgainstActivations, waitForFrames } from './probe-page.ts';
import { runCliOk } from '../reference/cli.ts';

const A = requireAssets();
const C = requireChromium();
const PHOTO = 'images/imagenet-sample/n01443537_goldfish.JPEG';

describe.skipIf(!A.dir || !C.ok)(`probe page in Chromium ${A.skipReason ?? C.skipReason ?? ''}`, () => {
  let g: ProbeGallery;
  let server: Server;
  let site: string;
  let browser: Browser;
  let page: Page;
  let tmp: string;
  const photo = () => join(A.dir!, PHOTO);
  const model = () => join(A.dir!, 'models', g.model);

  beforeAll(async () => {
    g = await buildProbeGallery({ assets: A.dir! });
    const s = await serveSite({ dist: g.dist, port: 0, base: g.base });
    server = s.server;
    site = s.url.endsWith('/') ? s.url : `${s.url}/`;
    browser = await launchProbeBrowser();
    tmp = await mkdtemp(join(tmpdir(), 'deepvis-probe-'));
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('weighs at most 100 KB before the network is loaded, and loads no TensorFlow.js', async () => {
    page = await browser.newPage();
    const w = await pageWeight(page, `${site}${g.model}/probe/`);
    console.log(`probe page weight before loading the network: ${w.bytes} bytes in ${w.requests.length} requests`);
    expect(w.bytes).toBeLessThanOrEqual(100 * 1024);
    expect(w.requests.some((r) => /\.wasm$|shard/.test(r.url))).toBe(false);
    expect(await page.evaluate(() => typeof window.__deepvisProbe)).toBe('undefined');
  });

  it('"Load the network" downloads every shard with progress and starts a backend', async () => {
    const st = await loadNetwork(page);
    expect(st.error).toBeUndefined();
    expect(st.netBytes).toBeGreaterThan(4e6);
    expect(await page.locator('#probe-status').textContent()).toMatch(/Network ready: .*running on (webgpu|webgl|wasm|cpu)/);
    expect(await page.locator('#probe-progress').isHidden()).toBe(true);
  });

  it('a model without its network says so and loads no script', async () => {
    const other = await browser.newPage();
    const w = await pageWeight(other, `${site}${NO_SOURCE}/probe/`);
    expect(await other.locator('#probe').textContent()).toContain('not available');
    expect(await other.locator('#probe-load').count()).toBe(0);
    expect(w.requests.some((r) => /probe\.astro.*\.js$/.test(r.url))).toBe(false);
    await other.close();
  });

  it('an uploaded photo: top-1 of `deepvis classify`, pixels of the pipeline, activations of `deepvis activations`', async () => {
    await loadPhoto(page, photo());
    const state = await probeState(page);
    expect(state.error).toBeUndefined();
    expect(state.loaded).toBe(true);
    const cli = JSON.parse((await runCliOk(['classify', '--model', model(), '--json', '--top', '5', photo()])).trim().split('\n')[0]);
    console.log(
      `probe top-1 ${state.top[0].index} ${state.top[0].label} (${state.top[0].prob.toFixed(4)}), classify: ${cli.top[0].index} ${cli.top[0].label} (${cli.top[0].prob.toFixed(4)}), backend ${state.backend}`,
    );
    expect(state.top[0].index).toBe(cli.top[0].index);
    expect(state.top[0].prob).toBeCloseTo(cli.top[0].prob, 3);

    const m = await loadModel(model(), { weights: false });
    const ref = await decodeRgb(photo(), m.preprocess);
    const { same, seen } = await samePixels(page, ref.rgb);
    console.log(`input pixels equal to the pipeline's: ${same}/${ref.rgb.length}`);
    expect(seen).toBe(ref.rgb.length);
    expect(same / ref.rgb.length).toBeGreaterThanOrEqual(0.99);

    const out = join(tmp, 'acts');
    const blobs = ['conv1', 'fire5/concat', 'prob'];
    await runCliOk(['activations', '--model', model(), '--input', photo(), '--blobs', blobs.join(','), '--out', out]);
    for (const [blob, unit] of [
      ['conv1', 3],
      ['fire5/concat', 100],
      ['prob', cli.top[0].index],
    ] as const) {
      const { length, per, rel } = await unitAgainstActivations(page, out, blob, unit);
      expect(length).toBe(per);
      console.log(`${blob} unit ${unit}: max |probe − activations| / max |blob| = ${rel.toExponential(2)}`);
      expect(rel).toBeLessThanOrEqual(1e-3);
    }
  });

  it('selecting a unit shows its map, its deconvolution and its gallery link under the base; keys move the selection', async () => {
    await page.evaluate(() => window.__deepvisProbe!.selectLayer('conv1'));
    const grid = page.locator('#probe-grid');
    const box = (await grid.boundingBox())!;
    await grid.click({ position: { x: 2, y: 2 } });
    expect((await probeState(page)).unit).toBe(0);
    await grid.focus();
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => window.__deepvisProbe!.state().unit === 2);
    const link = page.locator('#probe-unit-link');
    await expect.poll(() => link.getAttribute('href')).toBe(`${g.base}${g.model}/conv1/2/`);
    await expect.poll(() => page.locator('#probe-unit-title').textContent()).toContain('conv1 · unit 2');
    const deconvVaries = await page.evaluate(() => {
      const cv = document.querySelector<HTMLCanvasElement>('#probe-deconv')!;
      const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
      const seen = new Set<number>();
      for (let i = 0; i < d.length; i += 4) seen.add(d[i]);
      return { w: cv.width, levels: seen.size };
    });
    expect(deconvVaries.w).toBe(227);
    expect(deconvVaries.levels).toBeGreaterThan(20);
    // beside it, the unit's gradient × input; above, Grad-CAM of the top class — both over the input
    const levels = (id: string) =>
      page.evaluate((sel) => {
        const cv = document.querySelector<HTMLCanvasElement>(sel)!;
        const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
        const seen = new Set<number>();
        for (let i = 0; i < d.length; i += 4) seen.add(d[i] * 65536 + d[i + 1] * 256 + d[i + 2]);
        return { w: cv.width, levels: seen.size, hidden: cv.closest('figure')!.hidden };
      }, id);
    expect(await levels('#probe-gxi')).toMatchObject({ w: 227, hidden: false });
    expect((await levels('#probe-gxi')).levels).toBeGreaterThan(20);
    const st = await probeState(page);
    expect(st.camClass).toBe(st.top[0].index);
    expect(await levels('#probe-cam-map')).toMatchObject({ w: 227, hidden: false });
    await expect.poll(() => page.locator('#probe-cam-class').textContent()).toBe(st.top[0].label);
    const res = await page.request.get(`${new URL(site).origin}${await link.getAttribute('href')}`);
    expect(res.status()).toBe(200);
    const thumbs = await page.locator('#probe-active img').evaluateAll((els) => els.map((e) => (e as HTMLImageElement).getAttribute('src')!));
    for (const src of thumbs) expect(src.startsWith(`${g.base}media/`)).toBe(true);
    expect(box.width).toBeGreaterThan(100);
  });

  it('the fake camera drives the live mode: frames and the input update', async () => {
    const cam = await browser.newPage();
    await cam.goto(`${site}${g.model}/probe/`);
    await cam.click('#probe-cam');
    await waitForFrames(cam, 3, 180_000);
    const snap = () =>
      cam.evaluate(() => {
        const cv = document.querySelector<HTMLCanvasElement>('#probe-input')!;
        const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
        let h = 0;
        for (let i = 0; i < d.length; i += 7) h = (h * 31 + d[i]) >>> 0;
        return { h, frames: window.__deepvisProbe!.state().frames };
      });
    const a = await snap();
    await waitForFrames(cam, a.frames + 3, 180_000);
    const b = await snap();
    const st = await probeState(cam);
    console.log(`live mode: ${b.frames} frames, ${st.fps.toFixed(2)} fps on ${st.backend}`);
    expect(st.source).toBe('camera');
    expect(b.frames).toBeGreaterThan(a.frames);
    expect(b.h).not.toBe(a.h);
    await cam.evaluate(() => window.__deepvisProbe!.stopCamera());
    await cam.close();
  });
});
