/**
 * The gallery in real Chromium: search → unit page, deep links, keyboard navigation, pagination,
 * sorting, the class page filter, HTML in labels, and a build served under a sub-path.
 * Content: tests/e2e/fixture.ts (synthetic, or $DEEPVIS_E2E_DATA for real pipeline output).
 */
import type { Server } from 'node:http';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UnitRecord } from '../../pipeline/content/types.ts';
import { checkLinks } from '../../pipeline/site/link-check.ts';
import { serveSite } from '../../pipeline/site/serve.ts';
import { classesPath, layerPath, unitPath } from '../../pipeline/site/urls.ts';
import { requireAssets } from '../helpers/assets.ts';
import { launchChromium, requireChromium } from './browser.ts';
import { buildFixtureGallery, EVIL_LABEL, EVIL_MODEL_NAME, type FixtureGallery } from './fixture.ts';

const C = requireChromium();
// Synthetic content needs the real class names from the shared assets; real pipeline output does not.
const A = process.env.DEEPVIS_E2E_DATA ? { dir: process.env.DEEPVIS_E2E_DATA } : requireAssets();
const skip = !C.ok || !A.dir;
const why = C.skipReason ?? A.skipReason ?? '';

/** Makes every image load now and waits until each has decoded with a real size. */
async function expectImagesLoaded(page: Page, selector = 'main img') {
  const count = await page.locator(selector).count();
  expect(count).toBeGreaterThan(0);
  await page.evaluate((sel) => document.querySelectorAll<HTMLImageElement>(sel).forEach((i) => (i.loading = 'eager')), selector);
  await page.waitForFunction((sel) => [...document.querySelectorAll<HTMLImageElement>(sel)].every((i) => i.complete), selector);
  const broken = await page.evaluate(
    (sel) => [...document.querySelectorAll<HTMLImageElement>(sel)].filter((i) => i.naturalWidth === 0).map((i) => i.src),
    selector,
  );
  expect(broken).toEqual([]);
}

function layersOf(units: UnitRecord[]) {
  const layers = new Map<string, UnitRecord[]>();
  for (const u of units) {
    const k = `${u.model}/${u.layerSlug}`;
    layers.set(k, [...(layers.get(k) ?? []), u]);
  }
  return [...layers.values()].map((us) => us.sort((a, b) => a.unit - b.unit));
}

describe.skipIf(skip)(`gallery in Chromium ${why}`, () => {
  let fx: FixtureGallery;
  let server: Server;
  let url: string;
  let browser: Browser;
  const errors: string[] = [];

  async function open(path: string): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`));
    page.on('dialog', (d) => {
      errors.push(`${path}: unexpected dialog ${d.message()}`);
      void d.dismiss();
    });
    const res = await page.goto(url + path.slice(1));
    expect(res?.status(), path).toBe(200);
    return page;
  }

  beforeAll(async () => {
    fx = await buildFixtureGallery();
    ({ server, url } = await serveSite({ dist: fx.dist, port: 0 }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
    expect(errors).toEqual([]);
  });

  it('search "tabby": the first result is the tabby cat class unit, and its page shows its images', async () => {
    const tabby = fx.units.find((u) => u.label && /\btabby\b/i.test(u.label));
    expect(tabby, 'the content has a class unit labelled tabby').toBeDefined();
    const page = await open('/search/');
    await page.locator('#q').pressSequentially('tabby');
    const first = page.locator('#results li a').first();
    await first.waitFor();
    expect(await first.getAttribute('href')).toBe(unitPath(tabby!.model, tabby!.layerSlug, tabby!.unit));
    await first.click();
    await page.waitForURL(`**${unitPath(tabby!.model, tabby!.layerSlug, tabby!.unit)}`);
    await expect(page.locator('h1').textContent()).resolves.toContain(tabby!.label);
    await expectImagesLoaded(page);
    const shown = await page.locator('main img').count();
    expect(shown).toBe(tabby!.optimized.length + 3 * tabby!.maxImages.length); // patch, signed map, heat map
    await page.close();
  });

  it("the layer filter keeps only that layer's units", async () => {
    const u = fx.units.find((x) => x.layerSlug !== fx.units[fx.units.length - 1].layerSlug)!;
    const page = await open('/search/');
    await page.locator('#layer option', { hasText: u.layer }).first().waitFor({ state: 'attached' });
    await page.locator('#layer').selectOption(u.layer);
    await page.locator('#q').pressSequentially('unit');
    await page.locator('#results li a').first().waitFor();
    const hrefs = await page.locator('#results li a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(hrefs.length).toBeGreaterThan(0);
    for (const h of hrefs) expect(h).toMatch(new RegExp(`^/${u.model}/${u.layerSlug}/\\d+/$`));
    expect(new URL(page.url()).searchParams.get('layer')).toBe(u.layer);
    await page.close();
  });

  it('a search deep link (?q=) runs the search on load', async () => {
    const page = await open('/search/?q=tabby');
    await page.locator('#results li a').first().waitFor();
    expect(await page.locator('#q').inputValue()).toBe('tabby');
    await page.close();
  });

  it('a deep link opens a unit directly; ←/→ go to the previous/next unit', async () => {
    const layer = layersOf(fx.units).find((us) => us.length >= 3)!;
    const [prev, u, next] = layer.slice(1, 4);
    const page = await open(unitPath(u.model, u.layerSlug, u.unit));
    expect(await page.locator('h1').textContent()).toContain(`unit ${u.unit}`);
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(`**${unitPath(next.model, next.layerSlug, next.unit)}`);
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(`**${unitPath(u.model, u.layerSlug, u.unit)}`);
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(`**${unitPath(prev.model, prev.layerSlug, prev.unit)}`);
    await page.close();
  });

  it('"Copy link" copies the unit\'s absolute permalink', async () => {
    const u = fx.units[0];
    const context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
    const page = await context.newPage();
    await page.goto(url + unitPath(u.model, u.layerSlug, u.unit).slice(1));
    await page.getByRole('button', { name: 'Copy link' }).click();
    await page.waitForFunction(() => document.querySelector('button[data-copy]')?.textContent === 'Copied');
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url + unitPath(u.model, u.layerSlug, u.unit).slice(1));
    await context.close();
  });

  it('the deconvolutions switch to heat maps and back (radio buttons, no reload)', async () => {
    const u = fx.units.find((x) => x.maxImages.length > 0 && x.maxImages.every((m) => m.heat))!;
    expect(u, 'the content has a unit with heat maps').toBeDefined();
    const page = await open(unitPath(u.model, u.layerSlug, u.unit));
    await page.setViewportSize({ width: 1200, height: 900 });
    const pairs = page.locator('ol.pairs');
    await expectImagesLoaded(page, 'ol.pairs img');
    const shown = (cls: string) => page.locator(`ol.pairs img.${cls}`).evaluateAll((els) => els.filter((e) => getComputedStyle(e).display !== 'none').length);
    expect([await shown('signed'), await shown('heat')]).toEqual([u.maxImages.length, 0]);
    const before = await pairs.screenshot();
    await page.getByLabel('heat map over the patch').check();
    expect([await shown('signed'), await shown('heat')]).toEqual([0, u.maxImages.length]);
    // the heat maps sit where the deconvolutions were: same boxes, beside their patches
    const box = async (sel: string) => page.locator(sel).first().boundingBox();
    const heatBox = await box('ol.pairs li:first-child img.heat');
    const patchBox = await box('ol.pairs li:first-child img:first-child');
    expect(heatBox!.width).toBeCloseTo(patchBox!.width, 0);
    expect(heatBox!.y).toBeCloseTo(patchBox!.y, 0);
    expect((await pairs.screenshot()).equals(before)).toBe(false);
    await page.getByLabel('signed map (grey = 0)').check();
    expect([await shown('signed'), await shown('heat')]).toEqual([u.maxImages.length, 0]);
    expect((await pairs.screenshot()).equals(before)).toBe(true);
    await page.close();
  });

  it('units with only some of their images render with a note for the rest', async () => {
    const noOpt = fx.units.find((u) => u.optimized.length === 0 && u.maxImages.length > 0);
    const noMax = fx.units.find((u) => u.maxImages.length === 0 && u.optimized.length > 0);
    for (const [u, text] of [
      [noOpt, 'No optimised images yet.'],
      [noMax, 'No dataset images yet.'],
    ] as const) {
      if (!u) continue; // real content may have none
      const page = await open(unitPath(u.model, u.layerSlug, u.unit));
      await expect(page.locator('main').textContent()).resolves.toContain(text);
      await expectImagesLoaded(page);
      await page.close();
    }
  });

  it('layer pages paginate (links and ←/→) and sort by top class', async () => {
    const big = layersOf(fx.units).sort((a, b) => b.length - a.length)[0];
    expect(big.length, `a layer with more than ${fx.pageSize} units`).toBeGreaterThan(fx.pageSize);
    const { model, layerSlug } = big[0];
    const page = await open(layerPath(model, layerSlug));
    const indices = async () => page.locator('.grid .cell b').allTextContents();
    expect(await indices()).toEqual(big.slice(0, fx.pageSize).map((u) => String(u.unit)));
    await page.locator('a[rel="next"]').first().click();
    await page.waitForURL(`**${layerPath(model, layerSlug, 'index', 2)}`);
    expect((await indices())[0]).toBe(String(big[fx.pageSize].unit));
    await page.keyboard.press('ArrowLeft');
    await page.waitForURL(`**${layerPath(model, layerSlug, 'index', 1)}`);
    await page.keyboard.press('ArrowRight');
    await page.waitForURL(`**${layerPath(model, layerSlug, 'index', 2)}`);
    await page.getByRole('link', { name: 'top class' }).click();
    await page.waitForURL(`**${layerPath(model, layerSlug, 'class')}`);
    const names = (await page.locator('.grid .cell span').allTextContents()).map((s) => s.toLowerCase());
    expect(names.length).toBeGreaterThan(1);
    expect([...names].sort()).toEqual(names);
    await page.close();
  });

  it('the class page lists every class unit and filters them as you type', async () => {
    const tabby = fx.units.find((u) => u.label && /\btabby\b/i.test(u.label))!;
    const page = await open(classesPath(tabby.model));
    const classUnits = fx.units.filter((u) => u.model === tabby.model && u.layerSlug === tabby.layerSlug);
    expect(await page.locator('#class-grid > li').count()).toBe(classUnits.length);
    await page.locator('#class-filter').pressSequentially('tabby');
    const visible = page.locator('#class-grid > li:not([hidden])');
    expect(await visible.count()).toBe(1);
    expect(await visible.locator('a').getAttribute('href')).toBe(unitPath(tabby.model, tabby.layerSlug, tabby.unit));
    await page.close();
  });

  it('labels and model names containing HTML render as text, in pages and in search results', async () => {
    const page = await open(unitPath('xss-probe', 'prob', 0));
    expect(await page.locator('h1').textContent()).toContain(EVIL_LABEL);
    expect(await page.locator('header nav').textContent()).toContain(EVIL_MODEL_NAME);
    expect(await page.locator('header nav b').count()).toBe(0);
    await page.goto(`${url}search/`);
    await page.locator('#q').pressSequentially('n99999999');
    await page.locator('#results li a').first().waitFor();
    expect(await page.locator('#results li a').first().textContent()).toContain('<script>');
    expect(await page.locator('#results script, #results img[src="x"]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
    await page.close();
  });
});

describe.skipIf(skip)(`gallery built with --base /prefix/ ${why}`, () => {
  let fx: FixtureGallery;
  let server: Server;
  let url: string;
  let browser: Browser;

  beforeAll(async () => {
    fx = await buildFixtureGallery({ base: '/prefix/' });
    ({ server, url } = await serveSite({ dist: fx.dist, port: 0, base: '/prefix/' }));
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    server?.close();
  });

  it('every internal link stays under /prefix/ and resolves', async () => {
    const r = await checkLinks(fx.dist, '/prefix/');
    expect(r.broken).toEqual([]);
    expect(r.pages).toBeGreaterThan(fx.units.length);
  });

  it('home → layer → unit, images and search all work under /prefix/', async () => {
    expect(url.endsWith('/prefix/')).toBe(true);
    const page = await browser.newPage();
    await page.goto(url);
    const layerLink = page.locator('.layers a').first();
    expect(await layerLink.getAttribute('href')).toMatch(/^\/prefix\//);
    await layerLink.click();
    await page.locator('.grid .cell').first().click();
    await page.waitForURL(/\/prefix\/[^/]+\/[^/]+\/\d+\/$/);
    await expectImagesLoaded(page);
    await page.goto(`${url}search/`);
    await page.locator('#q').pressSequentially('tabby');
    const first = page.locator('#results li a').first();
    await first.waitFor();
    expect(await first.getAttribute('href')).toMatch(/^\/prefix\/.+\/\d+\/$/);
    await first.click();
    await page.waitForURL(/\/prefix\/.+\/\d+\/$/);
    await expectImagesLoaded(page);
    await page.close();
  });
});
