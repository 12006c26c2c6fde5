/**
 * Generates pipeline/graph/wordnet/ilsvrc-hypernyms.json: for each ILSVRC-1000 class synset, its
 * WordNet 3.0 hypernyms (every ancestor over all hypernym paths, nearest first, with its distance),
 * and the first lemma and depth (longest path to the root) of every synset named. Source: Debian's `wordnet-base`
 * (/usr/share/wordnet/data.noun); its licence notice is kept beside the table.
 *
 *   apt-get install wordnet-base
 *   node bin/run-ts.mjs scripts/make-wordnet-table.ts SYNSET_WORDS.txt   (e.g. $DEEPVIS_ASSETS/models/bvlc_googlenet/synset_words.txt)
 */
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const WORDNET = '/usr/share/wordnet/data.noun';
const OUT = join(import.meta.dirname, '..', 'pipeline', 'graph', 'wordnet');
const words = process.argv[2];
if (!words) {
  console.error('usage: make-wordnet-table.ts SYNSET_WORDS.txt');
  process.exit(2);
}
const classes = readFileSync(words, 'utf8')
  .split('\n')
  .map((l) => l.split(' ')[0])
  .filter((s) => /^n\d{8}$/.test(s));
if (classes.length !== 1000) throw new Error(`${words}: ${classes.length} synsets, expected 1000`);

const parents = new Map<string, string[]>();
const lemma = new Map<string, string>();
for (const line of readFileSync(WORDNET, 'utf8').split('\n')) {
  if (!/^\d{8} /.test(line)) continue;
  const f = line.split(' | ')[0].split(' ');
  const id = `n${f[0]}`;
  const wcnt = Number.parseInt(f[3], 16);
  lemma.set(id, f[4].replace(/_/g, ' '));
  let i = 4 + wcnt * 2;
  const pcnt = Number(f[i++]);
  const ps: string[] = [];
  for (let k = 0; k < pcnt; k++, i += 4) if ((f[i] === '@' || f[i] === '@i') && f[i + 2] === 'n') ps.push(`n${f[i + 1]}`);
  parents.set(id, ps);
}

const hypernyms: Record<string, [string, number][]> = {};
const named = new Set<string>();
for (const c of classes) {
  if (!parents.has(c)) throw new Error(`${c} is not a WordNet 3.0 noun synset`);
  const dist = new Map<string, number>();
  let frontier = [c];
  for (let d = 1; frontier.length; d++) {
    const next: string[] = [];
    for (const s of frontier)
      for (const p of parents.get(s) ?? [])
        if (!dist.has(p)) {
          dist.set(p, d);
          next.push(p);
        }
    frontier = next;
  }
  hypernyms[c] = [...dist.entries()].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1));
  named.add(c);
  for (const [p] of hypernyms[c]) named.add(p);
}
const names = Object.fromEntries([...named].sort().map((s) => [s, lemma.get(s)!]));
// Depth: the longest hypernym path up to the root (entity = 0), WordNet's usual "max depth".
const depthMemo = new Map<string, number>();
const depthOf = (s: string): number => {
  const m = depthMemo.get(s);
  if (m !== undefined) return m;
  const ps = parents.get(s) ?? [];
  const d = ps.length ? 1 + Math.max(...ps.map(depthOf)) : 0;
  depthMemo.set(s, d);
  return d;
};
const depth = Object.fromEntries([...named].sort().map((s) => [s, depthOf(s)]));
writeFileSync(
  join(OUT, 'ilsvrc-hypernyms.json'),
  `${JSON.stringify({ source: 'WordNet 3.0 (Debian wordnet-base), see LICENSE-WordNet.txt', names, depth, hypernyms })}\n`,
);
copyFileSync('/usr/share/doc/wordnet-base/copyright', join(OUT, 'LICENSE-WordNet.txt'));
console.log(`${classes.length} classes, ${named.size} synsets named → ${OUT}`);
