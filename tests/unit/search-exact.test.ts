/** The search page's exact matches: unit numbers, class names, synsets and WordNet concepts first. */
import { describe, expect, it } from 'vitest';
import { buildExactIndex, exactTitle, normalise, WORD_HITS } from '../../site/lib/exact-index.ts';
import type { SiteUnit } from '../../pipeline/site/snapshot.ts';

const unit = (layer: string, n: number, extra: Partial<SiteUnit> = {}): SiteUnit =>
  ({ model: 'm', layer, layerSlug: layer, unit: n, rf: { size: [1, 1], stride: [1, 1] }, optimized: [], maxImages: [], topClasses: [], ...extra }) as SiteUnit;

const classes = [
  unit('fc8', 281, { label: 'tabby, tabby cat', synset: 'n02123045', hypernyms: ['cat', 'feline', 'carnivore'] }),
  unit('fc8', 249, { label: 'malamute, malemute, Alaskan malamute', synset: 'n02110063', hypernyms: ['sled dog', 'working dog', 'dog'] }),
  unit('fc8', 151, { label: 'Chihuahua', synset: 'n02085620', hypernyms: ['toy dog', 'dog'] }),
  unit('fc8', 934, { label: 'hotdog, hot dog, red hot', synset: 'n07697537', hypernyms: ['sandwich', 'snack food'] }),
];
const hidden = [unit('fc7', 2810), unit('fc7', 281, { concept: { synset: 'n02084071', name: 'dog', share: 0.78 } })];
const ix = buildExactIndex([
  { modelName: 'CaffeNet', modelId: 'm', layerName: 'fc7', slug: 'fc7', classLayer: false, units: hidden, thumb: () => undefined },
  { modelName: 'CaffeNet', modelId: 'm', layerName: 'fc8', slug: 'fc8', classLayer: true, units: classes, thumb: (u) => `m/img/fc8/${u.unit}/opt-p3-0.webp` },
]);
const hits = (q: string) => (ix.terms[normalise(q)] ?? []).map((i) => exactTitle(ix, i));

describe('exact search matches', () => {
  it('a unit number lists that unit of every layer, the class unit first, never unit 2810', () => {
    expect(hits('281')).toEqual(['CaffeNet · fc8 · unit 281 · tabby, tabby cat', 'CaffeNet · fc7 · unit 281']);
  });

  it('a class name, any of its names, or its synset finds the class unit', () => {
    for (const q of ['tabby', 'Tabby Cat', 'tabby, tabby cat', 'n02123045']) expect(hits(q)[0], q).toBe('CaffeNet · fc8 · unit 281 · tabby, tabby cat');
    expect(hits('hot dog')).toEqual(['CaffeNet · fc8 · unit 934 · hotdog, hot dog, red hot']);
  });

  it('a WordNet concept lists the class units under it, nearest first, then the hidden units labelled with it', () => {
    expect(hits('dog')).toEqual([
      'CaffeNet · fc8 · unit 151 · Chihuahua',
      'CaffeNet · fc8 · unit 249 · malamute, malemute, Alaskan malamute',
      'CaffeNet · fc7 · unit 281',
    ]);
    expect(ix.units[ix.terms['281'][0]][3]).toBe('opt-p3-0.webp');
  });
});

describe('exact layer matches', () => {
  it('a layer name or slug lists the layer (its page), not every unit in it', () => {
    const named = buildExactIndex([
      {
        modelName: 'GoogLeNet',
        modelId: 'g',
        layerName: 'inception_4c/output',
        slug: 'inception_4c-output',
        classLayer: false,
        units: [unit('x', 1), unit('x', 2)],
        thumb: () => undefined,
      },
    ]);
    expect(named.layerTerms['inception_4c/output']).toEqual([0]);
    expect(named.layerTerms['inception_4c-output']).toEqual([0]);
    expect(named.layerUnits).toEqual([2]);
    expect(ix.layerTerms.fc7.map((li) => ix.layers[li][1])).toEqual(['fc7']);
    expect(ix.terms.fc7).toBeUndefined();
  });
});

describe('exact word matches', () => {
  it('a word of class names that is no other term lists those class units; "dog" keeps its concept list', () => {
    expect(hits('tabby')).toEqual(['CaffeNet · fc8 · unit 281 · tabby, tabby cat']);
    expect(hits('alaskan')).toEqual(['CaffeNet · fc8 · unit 249 · malamute, malemute, Alaskan malamute']);
    expect(hits('dog')).not.toContain('CaffeNet · fc8 · unit 934 · hotdog, hot dog, red hot');
    expect(ix.terms.ca).toBeUndefined(); // too short
  });
  it('lists at most WORD_HITS units per word', () => {
    const many = Array.from({ length: WORD_HITS + 5 }, (_, i) => unit('fc8', i, { label: `class ${i}` }));
    const big = buildExactIndex([{ modelName: 'M', modelId: 'm', layerName: 'fc8', slug: 'fc8', classLayer: true, units: many, thumb: () => undefined }]);
    expect(big.terms.class).toHaveLength(WORD_HITS);
    expect(big.terms['class 7']).toEqual([7]);
  });
});
