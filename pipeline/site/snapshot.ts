/**
 * What the site keeps of a UnitRecord, its compact encoding in the content store, and the build
 * snapshot: `deepvis site build` reads and validates the data root once and writes every model and
 * encoded unit into one file that the Astro loader reads (DEEPVIS_SNAPSHOT), instead of Astro
 * reading and validating 10k files again; the pages and the placed images then come from the same
 * reading of the data.
 *
 * Astro bundles the whole content store into the build; its size drives build time and memory at
 * 10k units. The site keeps only the fields it shows, rounds values to 6 significant digits, and
 * writes image paths under the unit's usual image folder (`<model>/img/<layer-slug>/<unit>/`) as
 * `/<rest>` (a leading `/` never starts a real record path): 3.5 KB → 1.9 KB per CaffeNet unit.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { layerSlug, type CircuitInputs, type MaxImage, type ModelRecord, type OptImage, type TopClass, type UnitRecord } from '../content/types.ts';
import type { GalleryData } from './data.ts';

export type SiteOptImage = Pick<OptImage, 'preset' | 'seed' | 'file' | 'activation' | 'argmax_step' | 'top1' | 'judge'>;
export type SiteMaxImage = Pick<MaxImage, 'file' | 'value' | 'patch' | 'deconv' | 'heat' | 'label'>;
export type SiteTopClass = Pick<TopClass, 'name' | 'synset' | 'count' | 'corr'>;

/** Units of another layer and their shares: [unit, share]. */
export interface SiteLinks {
  layer: string;
  method: CircuitInputs['method'];
  links: [number, number][];
}
/**
 * A unit's circuit as the page shows it: its strongest inputs from the previous gallery layer
 * (`up`) and its own conv's input blob (`branch`), and the units of later layers that list it
 * among their strongest inputs (`down`, one entry per such layer, by its share in each).
 */
export interface SiteCircuit {
  up?: SiteLinks;
  branch?: SiteLinks;
  down?: SiteLinks[];
}
/** Links shown per list. */
export const CIRCUIT_SHOWN = 6;

export type SiteUnit = Pick<
  UnitRecord,
  'model' | 'layer' | 'layerSlug' | 'unit' | 'label' | 'synset' | 'rf' | 'stats' | 'agreement' | 'hypernyms' | 'concept'
> & {
  optimized: SiteOptImage[];
  maxImages: SiteMaxImage[];
  topClasses: SiteTopClass[];
  circuit?: SiteCircuit;
};

const links = (c: CircuitInputs): SiteLinks => ({ layer: c.blob, method: c.method, links: c.inputs.slice(0, CIRCUIT_SHOWN).map((i) => [i.unit, i.share]) });

/**
 * Per unit id: the later units that list it among their strongest inputs (every listed input
 * counts, not only the shown ones), strongest share first, per later layer.
 */
export function downstreamLinks(units: UnitRecord[]): Map<string, SiteLinks[]> {
  const byUnit = new Map<string, Map<string, SiteLinks>>();
  for (const u of units) {
    const up = u.circuit?.upstream;
    if (!up) continue;
    for (const i of up.inputs) {
      const id = `${u.model}/${layerSlug(up.blob)}/${i.unit}`;
      let layers = byUnit.get(id);
      if (!layers) byUnit.set(id, (layers = new Map()));
      let l = layers.get(u.layer);
      if (!l) layers.set(u.layer, (l = { layer: u.layer, method: up.method, links: [] }));
      l.links.push([u.unit, i.share]);
    }
  }
  const out = new Map<string, SiteLinks[]>();
  for (const [id, layers] of byUnit) {
    out.set(
      id,
      [...layers.values()].map((l) => ({ ...l, links: l.links.sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, CIRCUIT_SHOWN) })),
    );
  }
  return out;
}

function siteCircuit(u: UnitRecord, down: SiteLinks[] | undefined): SiteCircuit | undefined {
  if (!u.circuit && !down) return undefined;
  const c: SiteCircuit = {};
  if (u.circuit) c.up = links(u.circuit.upstream);
  if (u.circuit?.branch) c.branch = links(u.circuit.branch);
  if (down) c.down = down;
  return c;
}

/** Every unit encoded, with the downstream links that only all units together give. */
export function encodeSiteUnits(units: UnitRecord[]): string[] {
  const down = downstreamLinks(units);
  return units.map((u) => encodeSiteUnit(u, down.get(unitId(u))));
}

const imageDir = (u: Pick<UnitRecord, 'model' | 'layerSlug' | 'unit'>) => `${u.model}/img/${u.layerSlug}/${u.unit}/`;
const round = (x: number) => Number(x.toPrecision(6));

export function encodeSiteUnit(u: UnitRecord, down?: SiteLinks[]): string {
  const dir = imageDir(u);
  const p = (path: string) => (path.startsWith(dir) ? `/${path.slice(dir.length)}` : path);
  const out: SiteUnit = {
    model: u.model,
    layer: u.layer,
    layerSlug: u.layerSlug,
    unit: u.unit,
    label: u.label,
    synset: u.synset,
    rf: u.rf,
    optimized: u.optimized.map((o) => ({
      preset: o.preset,
      seed: o.seed,
      file: p(o.file),
      activation: round(o.activation),
      argmax_step: o.argmax_step,
      ...(u.label && o.top1 ? { top1: o.top1 } : {}),
      ...(o.judge ? { judge: o.judge } : {}),
    })),
    maxImages: u.maxImages.map((m) => ({
      file: m.file,
      value: round(m.value),
      patch: p(m.patch),
      deconv: p(m.deconv),
      heat: m.heat && p(m.heat),
      label: m.label,
    })),
    topClasses: u.topClasses.map((c) => ({ name: c.name, synset: c.synset, count: c.count, corr: c.corr === undefined ? undefined : round(c.corr) })),
    stats: u.stats,
    agreement: u.agreement,
    hypernyms: u.hypernyms,
    concept: u.concept,
    circuit: siteCircuit(u, down),
  };
  return JSON.stringify(out);
}

export function decodeSiteUnit(json: string): SiteUnit {
  const u = JSON.parse(json) as SiteUnit;
  const dir = imageDir(u);
  const p = (path: string) => (path.startsWith('/') ? dir + path.slice(1) : path);
  for (const o of u.optimized) o.file = p(o.file);
  for (const m of u.maxImages) {
    m.patch = p(m.patch);
    m.deconv = p(m.deconv);
    if (m.heat) m.heat = p(m.heat);
  }
  return u;
}

export const unitId = (u: Pick<UnitRecord, 'model' | 'layerSlug' | 'unit'>) => `${u.model}/${u.layerSlug}/${u.unit}`;

/** Line 1: the models as JSON; then one `<unit id>\t<encoded SiteUnit>` line per unit. */
export async function writeSnapshot(path: string, g: GalleryData): Promise<void> {
  const encoded = encodeSiteUnits(g.units);
  const lines = [JSON.stringify(g.models), ...g.units.map((u, i) => `${unitId(u)}\t${encoded[i]}`)];
  await writeFile(path, lines.join('\n') + '\n');
}

export async function readSnapshot(path: string): Promise<{ models: ModelRecord[]; units: { id: string; json: string }[] }> {
  const lines = (await readFile(path, 'utf8')).split('\n');
  const models = JSON.parse(lines[0]) as ModelRecord[];
  const units = [];
  for (let i = 1; i < lines.length; i++) {
    const tab = lines[i].indexOf('\t');
    if (tab > 0) units.push({ id: lines[i].slice(0, tab), json: lines[i].slice(tab + 1) });
  }
  return { models, units };
}
