/** WordNet concepts for units: class units' hypernyms, hidden units' covering concept. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { coveringConcept, hypernymsOf } from '../../pipeline/graph/concepts.ts';

const table = JSON.parse(readFileSync(join(import.meta.dirname, '../../pipeline/graph/wordnet/ilsvrc-hypernyms.json'), 'utf8')) as {
  hypernyms: Record<string, unknown>;
};
const DOG = 'n02084071';

describe('WordNet concepts', () => {
  it('covers the 1000 ILSVRC classes; a malamute is a sled dog, a working dog, a dog, an animal', () => {
    expect(Object.keys(table.hypernyms)).toHaveLength(1000);
    const names = hypernymsOf('n02110063').map((h) => h.name);
    expect(names.slice(0, 3)).toEqual(['sled dog', 'working dog', 'dog']);
    expect(names).toContain('animal');
    expect(hypernymsOf('n99999999')).toEqual([]);
  });

  it('the ILSVRC dog breeds (classes 151–268) all have "dog" among their hypernyms', () => {
    const classes = Object.keys(table.hypernyms).sort();
    const breeds = classes.slice(151, 269);
    expect(breeds).toHaveLength(118);
    for (const b of breeds)
      expect(
        hypernymsOf(b).map((h) => h.synset),
        b,
      ).toContain(DOG);
  });

  it('a hidden unit gets the most specific synset covering most of its top images, and a runner-up', () => {
    // 6 dogs of different breeds, 2 tabby cats, 1 image without a class
    const top = ['n02110063', 'n02109961', 'n02085620', 'n02099601', 'n02106662', 'n02108089', 'n02123045', 'n02123045', undefined];
    const c = coveringConcept(top)!;
    expect(c.concept).toMatchObject({ synset: DOG, name: 'dog', share: 0.6667 });
    expect(c.runnerUp).toMatchObject({ name: 'tabby', share: 0.2222 });
    // all the same class: the class itself
    expect(coveringConcept(Array(9).fill('n02123045'))!.concept.name).toBe('tabby');
    // two of three are instruments; a mixed bag has no concept (and "whole", "object"… never are)
    expect(coveringConcept(['n03272010', 'n04254680', 'n02123045'])!.concept.name).toBe('instrumentality'); // electric guitar, soccer ball, tabby
    expect(coveringConcept(['n02123045', 'n04254680', 'n09472597', 'n07753592', undefined])).toBeUndefined(); // tabby, soccer ball, volcano, banana
  });
});
