/**
 * Concepts for units from WordNet: ImageNet's classes are WordNet synsets, so a class unit has its
 * synset's hypernyms ("malamute" → sled dog → working dog → dog → … → animal), and a hidden unit
 * whose top images are mostly of one kind gets the most specific hypernym covering most of them
 * ("dog", "bird", "wheeled vehicle"), with the share of its top images it covers.
 *
 * The table (./wordnet/ilsvrc-hypernyms.json) is generated from WordNet 3.0 by
 * scripts/make-wordnet-table.ts; its licence is ./wordnet/LICENSE-WordNet.txt. It covers the
 * ILSVRC-1000 synsets; other synsets have no hypernyms here.
 */
import { readFileSync } from 'node:fs';

interface Table {
  names: Record<string, string>;
  depth: Record<string, number>;
  /** class synset → [ancestor, distance] over all hypernym paths, nearest first */
  hypernyms: Record<string, [string, number][]>;
}

let table: Table | undefined;
// The same relative path from pipeline/graph/ (sources) and lib/graph/ (compiled): the table ships once, in pipeline/.
const load = (): Table => (table ??= JSON.parse(readFileSync(new URL('../../pipeline/graph/wordnet/ilsvrc-hypernyms.json', import.meta.url), 'utf8')) as Table);

export interface Hypernym {
  synset: string;
  name: string;
  /** Steps up from the synset. */
  distance: number;
}

/** A class synset's hypernyms, nearest first; [] for a synset the table does not cover. */
export function hypernymsOf(synset: string): Hypernym[] {
  const t = load();
  return (t.hypernyms[synset] ?? []).map(([s, distance]) => ({ synset: s, name: t.names[s] ?? s, distance }));
}

export function conceptName(synset: string): string | undefined {
  return load().names[synset];
}

const lines = new Map<string, ReadonlySet<string>>();
/** A synset and its hypernyms (asked for every top image of every unit: kept). */
function lineOf(s: string): ReadonlySet<string> {
  let l = lines.get(s);
  if (!l) lines.set(s, (l = new Set([s, ...(load().hypernyms[s] ?? []).map(([h]) => h)])));
  return l;
}

/** How far below the root a synset is (its longest hypernym path). */
function depthOf(s: string): number {
  return load().depth[s] ?? 0;
}

/** Synsets this close to the root (entity 0 … whole 3) are never given as a concept. */
const MIN_DEPTH = 4;

export interface Concept {
  synset: string;
  name: string;
  /** Fraction of the unit's top images (all of them, labelled or not) that it covers. */
  share: number;
}

/**
 * The most specific synset (itself or a hypernym) covering most (more than half) of the top images, and
 * the best alternative not on its line (neither its hypernym nor its hyponym); undefined when no
 * synset covers most.
 */
export function coveringConcept(topSynsets: (string | undefined)[]): { concept: Concept; runnerUp?: Concept } | undefined {
  const k = topSynsets.length;
  if (!k) return undefined;
  const cover = new Map<string, number>();
  const line = new Map<string, ReadonlySet<string>>(); // synset → itself and its hypernyms (for the ancestry test)
  for (const s of topSynsets) {
    if (!s) continue;
    const up = lineOf(s);
    if (up.size === 1 && !load().hypernyms[s]) continue; // not an ILSVRC synset
    for (const a of up) cover.set(a, (cover.get(a) ?? 0) + 1);
    line.set(s, up);
  }
  const name = (s: string) => load().names[s] ?? s;
  const rank = (a: [string, number], b: [string, number]) => depthOf(b[0]) - depthOf(a[0]) || b[1] - a[1] || (name(a[0]) < name(b[0]) ? -1 : 1);
  // Too general to say anything (entity, physical entity, object, whole…): not a concept.
  const all = [...cover.entries()].filter(([syn]) => depthOf(syn) >= MIN_DEPTH);
  const best = all.filter(([, n]) => n / k > 0.5).sort(rank)[0];
  if (!best) return undefined;
  const r = (x: number) => Number(x.toFixed(4));
  const concept: Concept = { synset: best[0], name: name(best[0]), share: r(best[1] / k) };
  // Hypernyms of the chosen concept: every synset whose line contains it, intersected.
  const related = (s: string) => {
    for (const up of line.values()) if (up.has(s) && up.has(best[0])) return true;
    return false;
  };
  const alt = all.filter(([s, n]) => s !== best[0] && !related(s) && n / k >= 0.2).sort((a, b) => b[1] - a[1] || depthOf(b[0]) - depthOf(a[0]))[0];
  return alt ? { concept, runnerUp: { synset: alt[0], name: name(alt[0]), share: r(alt[1] / k) } } : { concept };
}
