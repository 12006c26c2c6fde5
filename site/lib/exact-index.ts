/**
 * The search page's exact matches, built with the site (`/search-exact.json`): a query that IS a
 * unit number ("281"), a class name ("tabby", "tabby cat"), a synset id, or a WordNet concept
 * ("dog": the class units whose hypernyms hold it, nearest first, and the hidden units labelled
 * with it) lists those units first, before Pagefind's ranked results; a query that names a layer
 * ("conv5", "inception_4c/output") lists the layer's page first; a single word of class names that
 * is none of these ("retriever") lists the class units with it in their name. Pagefind ranks by term
 * frequency, so "281" found unit 2810 first and "dog" the hot dog; an exact lookup is also
 * instant, whatever the index size.
 */
import type { SiteUnit } from '../../pipeline/site/snapshot.ts';
import { unitName } from './format.ts';

export interface ExactIndex {
  /** [model name, layer name, model id, layer slug] by layer index. */
  layers: [string, string, string, string][];
  /** [layer index, unit, label or "", thumbnail path relative to the unit's image folder or ""] */
  units: [number, number, string, string][];
  /** normalised term → unit indices, best first */
  terms: Record<string, number[]>;
  /** normalised layer name (and slug) → layer indices: a query that names a layer finds its page first */
  layerTerms: Record<string, number[]>;
  /** Units with records, by layer index (what the layer's result says). */
  layerUnits: number[];
}

/** Class units listed for one word of their names. */
export const WORD_HITS = 50;

export function normalise(term: string): string {
  return term.toLowerCase().replace(/\s+/g, ' ').trim();
}

export interface IndexLayer {
  modelName: string;
  modelId: string;
  layerName: string;
  slug: string;
  classLayer: boolean;
  units: SiteUnit[];
  thumb: (u: SiteUnit) => string | undefined;
}

export function buildExactIndex(layers: IndexLayer[]): ExactIndex {
  const out: ExactIndex = { layers: [], units: [], terms: {}, layerTerms: {}, layerUnits: [] };
  // ranks: 0 number / class name / synset; 1 + distance for a class unit's hypernym (a "dog" search
  // lists the dog breeds, nearest first); then the hidden units labelled with the concept
  const hits = new Map<string, { i: number; rank: number }[]>();
  const add = (term: string, i: number, rank: number) => {
    const k = normalise(term);
    if (!k) return;
    const list = hits.get(k) ?? [];
    if (!list.some((h) => h.i === i)) list.push({ i, rank });
    hits.set(k, list);
  };
  // class layers first, so "281" shows the class unit before the hidden units numbered 281
  const ordered = [...layers].sort((a, b) => Number(b.classLayer) - Number(a.classLayer));
  for (const l of ordered) {
    const li = out.layers.push([l.modelName, l.layerName, l.modelId, l.slug]) - 1;
    out.layerUnits.push(l.units.length);
    for (const name of new Set([normalise(l.layerName), normalise(l.slug)])) (out.layerTerms[name] ??= []).push(li);
    for (const u of l.units) {
      const dir = `${l.modelId}/img/${l.slug}/${u.unit}/`;
      const t = l.thumb(u);
      const i = out.units.push([li, u.unit, u.label ?? '', t?.startsWith(dir) ? t.slice(dir.length) : '']) - 1;
      add(String(u.unit), i, 0);
      if (u.label) {
        add(u.label, i, 0);
        for (const part of u.label.split(',')) add(part, i, 0);
      }
      if (u.synset) add(u.synset, i, 0);
      u.hypernyms?.forEach((h, d) => add(h, i, 1 + d));
      if (u.concept) add(u.concept.name, i, 1000);
    }
  }
  for (const [k, list] of hits) out.terms[k] = list.sort((a, b) => a.rank - b.rank || a.i - b.i).map((h) => h.i);
  // Last tier: a single word of class names ("cat", "retriever") that is no term of its own lists
  // the class units whose name has it (at most WORD_HITS), so common words answer at once too.
  const words = new Map<string, number[]>();
  out.units.forEach(([, , label], i) => {
    for (const w of new Set(normalise(label).split(/[^\p{L}\p{N}]+/u))) {
      if (w.length < 3 || out.terms[w] || out.layerTerms[w]) continue;
      const list = words.get(w) ?? [];
      if (list.length < WORD_HITS) list.push(i);
      words.set(w, list);
    }
  });
  for (const [w, list] of words) out.terms[w] = list;
  return out;
}

/** The title a unit's search result shows (as its page's). */
export function exactTitle(ix: ExactIndex, i: number): string {
  const [li, unit, label] = ix.units[i];
  const [modelName, layerName] = ix.layers[li];
  return `${modelName} · ${layerName} · ${unitName({ unit, label: label || undefined } as SiteUnit)}`;
}
