/**
 * Circuits on a real network (GoogLeNet, 12 validation photos, top 3 per unit): conv2/3x3 whole and 20 units of
 * inception_3a/output from its four branches. Every 3a unit lists its strongest conv2/3x3 inputs
 * (weight mass where its branch conv reads conv2/3x3 through pooling and LRN only, gradient ×
 * activation through a 3×3/5×5 reduce, which it also lists), the pages show the record's numbers,
 * conv2/3x3 pages list the 3a units they feed, and the site's links all resolve.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readUnitRecord } from '../pipeline/content/unit-store.ts';
import { checkLinks } from '../pipeline/site/link-check.ts';
import { requireAssets } from './helpers/assets.ts';
import { runCli } from './reference/cli.ts';

const assets = requireAssets();
const MODEL = 'bvlc_googlenet';
// inception_3a/output: 1x1 branch 0–63, 3x3 64–191, 5x5 192–223, pool_proj 224–255
const UNITS_3A = [0, 1, 2, 3, 64, 65, 66, 67, 68, 69, 70, 71, 192, 193, 194, 195, 224, 225, 226, 227];
/** Top images per unit (the gradient × activation averages over them): 3 keeps the renders short. */
const TOP = 3;
let tmp: string;
let data: string;
let dist: string;

const page = (slug: string, unit: number) => readFileSync(join(dist, MODEL, slug, String(unit), 'index.html'), 'utf8');
/** The circuit lists of a page: per list its title, layer and the [unit, share] entries shown. */
function circuitLists(html: string): { title: string; layer: string; links: [number, number][]; hrefs: string[] }[] {
  const section = html.slice(html.indexOf('class="circuit"'), html.indexOf('class="classes"'));
  return section
    .split('<h3')
    .slice(1)
    .map((part) => {
      const title = /^[^>]*>([^<]*)</.exec(part)![1].trim();
      const layer = /<span class="muted"[^>]*>([^<·]*)·/.exec(part)![1].trim();
      const links = [...part.matchAll(/data-unit="(\d+)" data-share="([\d.e-]+)"/g)].map((m) => [Number(m[1]), Number(m[2])] as [number, number]);
      const hrefs = [...part.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
      return { title, layer, links, hrefs };
    });
}

describe.skipIf(!assets.dir)(`circuits on GoogLeNet ${assets.skipReason ?? ''}`, () => {
  beforeAll(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'deepvis-circuits-'));
    data = join(tmp, 'data');
    dist = join(tmp, 'dist');
    const photos = join(assets.dir!, 'images', 'ilsvrc2012-val');
    const model = join(assets.dir!, 'models', MODEL);
    const scan = await runCli([
      'scan',
      '--model',
      model,
      '--images',
      photos,
      '--layers',
      'conv2/3x3,inception_3a/output',
      '--units',
      `inception_3a/output=${UNITS_3A.join(',')}`,
      '--top',
      String(TOP),
      '--data',
      data,
    ]);
    expect(scan.code, scan.stderr).toBe(0);
    const r = await runCli(['site', 'build', '--data', data, '--dist', dist]);
    expect(r.code, r.stderr).toBe(0);
  }, 900_000);
  afterAll(() => tmp && rmSync(tmp, { recursive: true, force: true }));

  it('each inception unit lists its strongest conv2/3x3 inputs by the method its branch allows, as recorded', async () => {
    for (const unit of UNITS_3A) {
      const rec = (await readUnitRecord(data, MODEL, 'inception_3a/output', unit))!;
      const c = rec.circuit!;
      expect(c.upstream.blob).toBe('conv2/3x3');
      const viaReduce = unit >= 64 && unit < 224;
      expect(c.upstream.method, `unit ${unit}`).toBe(viaReduce ? 'gradient' : 'weights');
      if (viaReduce) {
        expect(c.branch?.blob).toBe(unit < 192 ? 'inception_3a/3x3_reduce' : 'inception_3a/5x5_reduce');
        expect(c.upstream.images).toBe(TOP);
      } else expect(c.branch).toBeUndefined();
      expect(c.upstream.inputs.length).toBeGreaterThan(3);
      const lists = circuitLists(page('inception_3a-output', unit));
      expect(lists[0]).toMatchObject({ title: 'Strongest inputs', layer: 'conv2/3x3' });
      expect(lists[0].links).toEqual(c.upstream.inputs.slice(0, 6).map((i) => [i.unit, i.share]));
      // conv2/3x3 is whole in the gallery: every input links to its page
      expect(lists[0].hrefs).toHaveLength(6);
      if (c.branch) expect(lists[1]).toMatchObject({ title: 'Through its branch', layer: c.branch.blob, hrefs: [] });
    }
  });

  it('a conv2/3x3 unit lists the inception units that count it among their strongest inputs', async () => {
    const feeding = new Map<number, [number, number][]>();
    for (const unit of UNITS_3A) {
      const rec = (await readUnitRecord(data, MODEL, 'inception_3a/output', unit))!;
      for (const i of rec.circuit!.upstream.inputs) feeding.set(i.unit, [...(feeding.get(i.unit) ?? []), [unit, i.share]]);
    }
    expect(feeding.size).toBeGreaterThan(10);
    for (const [unit, list] of [...feeding].slice(0, 12)) {
      const want = list.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, 6);
      const down = circuitLists(page('conv2-3x3', unit)).find((l) => l.title === 'Feeds most')!;
      expect(down, `conv2/3x3 unit ${unit}`).toMatchObject({ layer: 'inception_3a/output', links: want });
      expect(down.hrefs).toHaveLength(want.length);
    }
  });

  it('the link check finds 0 broken links', async () => {
    const r = await checkLinks(dist, '/');
    expect(r.broken.slice(0, 10)).toEqual([]);
    expect(r.pages).toBeGreaterThan(212);
  });
});
