import { describe, expect, it } from 'vitest';
import {
  classesPath,
  LAYER_ORDERS,
  layerPath,
  layerRestParam,
  mediaPath,
  normalizeBase,
  pageOf,
  parseLayerRest,
  searchPath,
  unitPath,
  withBase,
} from '../../pipeline/site/urls.ts';

describe('site URLs', () => {
  it('names units, layers and pages as documented', () => {
    expect(unitPath('googlenet', 'loss3-classifier', 281)).toBe('/googlenet/loss3-classifier/281/');
    expect(layerPath('caffenet', 'fc6')).toBe('/caffenet/fc6/');
    expect(layerPath('caffenet', 'fc6', 'index', 3)).toBe('/caffenet/fc6/page/3/');
    expect(layerPath('caffenet', 'fc6', 'class')).toBe('/caffenet/fc6/by-class/');
    expect(layerPath('caffenet', 'fc6', 'class', 2)).toBe('/caffenet/fc6/by-class/page/2/');
    expect(classesPath('caffenet')).toBe('/caffenet/classes/');
    expect(searchPath('tabby cat')).toBe('/search/?q=tabby%20cat');
  });

  it('round-trips the layer route parameter', () => {
    for (const order of LAYER_ORDERS) {
      for (const page of [1, 2, 17]) {
        const rest = layerRestParam(order, page);
        expect(parseLayerRest(rest)).toEqual({ order, page });
        expect(layerPath('m', 'l', order, page)).toBe(`/m/l/${rest ? `${rest}/` : ''}`);
      }
    }
    expect(parseLayerRest('page/1')).toBeNull();
    expect(parseLayerRest('nonsense')).toBeNull();
    expect(parseLayerRest('by-nothing')).toBeNull();
    expect(layerPath('m', 'l', 'selectivity', 2)).toBe('/m/l/by-selectivity/page/2/');
  });

  it('encodes media paths segment by segment', () => {
    expect(mediaPath('m/img/conv1/0/opt-a b-0.webp')).toBe('/media/m/img/conv1/0/opt-a%20b-0.webp');
    expect(mediaPath('m/img/x#?.webp')).toBe('/media/m/img/x%23%3F.webp');
  });

  it('normalises deploy bases and prefixes paths with them', () => {
    expect(normalizeBase(undefined)).toBe('/');
    expect(normalizeBase('/')).toBe('/');
    expect(normalizeBase('prefix')).toBe('/prefix/');
    expect(normalizeBase('/a/b')).toBe('/a/b/');
    expect(withBase('/', '/x/')).toBe('/x/');
    expect(withBase('/prefix/', '/x/')).toBe('/prefix/x/');
  });

  it('finds the layer page of a position', () => {
    expect(pageOf(0, 256)).toBe(1);
    expect(pageOf(255, 256)).toBe(1);
    expect(pageOf(256, 256)).toBe(2);
  });
});
