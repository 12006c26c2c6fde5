/**
 * Exact matches in the search page, on a synthetic CaffeNet-shaped gallery with real ImageNet
 * class names and their WordNet hypernyms (300 class units: 118 dog breeds): a unit number or a
 * class name ranks its unit first, and "dog" lists every dog breed, then the hidden units
 * labelled dog.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveSite } from '../../pipeline/site/serve.ts';
import { layerPath, unitPath } from '../../pipeline/site/urls.ts';
import { defaultLabels, makeSyntheticGallery, SMALL_LAYERS } from '../../scripts/make-synthetic-gallery.ts';
import { requireAssets } from '../helpers/assets.ts';
import { launchChromium, requireChromium } from './browser.ts';
import { buildFixtureGallery, type FixtureGallery } from './fixture.ts';

const C = requireChromium();
const A = requireAssets();
const skip = !C.ok || !A.dir;

describe.skipIf(skip)(`exact search matches in Chromium ${C.skipReason ?? A.skipReason ?? ''}`, () => {
  let src: string;
  let fx: FixtureGallery;
  let server: Server;
  let url: string;
  let browser: Browser;

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    const res = await page.goto(url + path.slice(1));
    expect(res?.status(), path).toBe(200);
    return page;
  }

  beforeAll(async () => {
    src = await mkdtemp(join(tmpdir(), 'deepvis-search-'));
    await makeSyntheticGallery({ out: src, model: 'caffenet', labels: await defaultLabels(), layers: SMALL_LAYERS, partial: true });
    fx = await buildFixtureGallery({ dataDir: src });
    ({ server, url } = await serveSite({ dist: fx.dist, port: 0 }));
    browser = await launchChromium();
  }, 600_000);
  afterAll(async () => {
    await browser?.close();
    server?.close();
    if (src) await rm(src, { recursive: true, force: true });
  });

  it('an exact unit number or class name ranks first; "dog" lists the dog breeds first, then hidden units labelled dog', async () => {
    const page = await open('/search/');
    const hrefs = () => page.locator('#results li a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    const search = async (q: string) => {
      await page.locator('#q').fill(q);
      await page.waitForFunction(
        () =>
          /unit|match/.test(document.getElementById('status')?.textContent ?? '') && !/searching/.test(document.getElementById('status')?.textContent ?? ''),
      );
      return hrefs();
    };
    const cls = fx.units.filter((u) => u.label);
    const tabby = cls.find((u) => /^tabby\b/.test(u.label!))!;
    const n = tabby.unit;
    const first281 = (await search(String(n)))[0];
    expect(first281).toBe(unitPath(tabby.model, tabby.layerSlug, n));
    expect((await search('Tabby Cat'))[0]).toBe(unitPath(tabby.model, tabby.layerSlug, n));
    const dogs = cls.filter((u) => u.hypernyms?.includes('dog'));
    expect(dogs.length).toBeGreaterThanOrEqual(100);
    const got = await search('dog');
    const dogPaths = new Set(dogs.map((u) => unitPath(u.model, u.layerSlug, u.unit)));
    expect(dogPaths.has(got[0]!)).toBe(true);
    expect(got.filter((h) => dogPaths.has(h!)).length).toBe(dogs.length);
    const labelledDog = fx.units.filter((u) => u.concept?.name === 'dog').map((u) => unitPath(u.model, u.layerSlug, u.unit));
    for (const h of labelledDog) expect(got).toContain(h);
    // a layer's name finds the layer page first
    const hidden = fx.units.find((u) => !u.label)!;
    expect((await search(hidden.layer))[0]).toBe(layerPath(hidden.model, hidden.layerSlug));
    await page.close();
  });
});
