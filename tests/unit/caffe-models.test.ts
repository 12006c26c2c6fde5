import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { countParams } from '../../pipeline/graph/params.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { requireAssets } from '../helpers/assets.ts';

const A = requireAssets();
const models = (name: string) => join(A.dir ?? '', 'models', name);

describe.skipIf(!A.dir)(`shared Caffe models ${A.skipReason ?? ''}`, () => {
  it('CaffeNet-yos (V1 prototxt): shapes and receptive fields', async () => {
    const m = await loadModel(join(models('caffenet-yos'), 'caffenet-yos-deploy.prototxt'));
    expect(m.id).toBe('caffenet-yos');
    expect(m.graph.weights).toBeUndefined();
    const by = new Map(m.graph.blobs.map((b) => [b.name, b]));
    const shapes: Record<string, number[]> = {
      conv1: [96, 55, 55],
      pool1: [96, 27, 27],
      conv2: [256, 27, 27],
      pool2: [256, 13, 13],
      conv3: [384, 13, 13],
      conv4: [384, 13, 13],
      conv5: [256, 13, 13],
      pool5: [256, 6, 6],
      fc6: [4096],
      fc7: [4096],
      fc8: [1000],
      prob: [1000],
    };
    for (const [name, shape] of Object.entries(shapes)) expect(by.get(name)?.shape, name).toEqual(shape);
    const rf: Record<string, number> = { conv1: 11, conv2: 51, conv3: 99, conv4: 131, conv5: 163 };
    for (const [name, size] of Object.entries(rf)) expect(by.get(name)!.rf.size, name).toEqual([size, size]);
    expect(by.get('conv1')!.rf).toEqual({ size: [11, 11], stride: [4, 4], offset: [0, 0] });
    expect(by.get('conv5')!.rf).toEqual({ size: [163, 163], stride: [16, 16], offset: [-64, -64] });
    expect(by.get('fc8')!.rf).toEqual({ size: [227, 227], stride: [227, 227], offset: [0, 0] });
    expect(by.get('conv1')).toMatchObject({ producer: 'relu', layer: 'conv1' });
    expect(m.labels).toHaveLength(1000);
    expect(m.labels![0]).toEqual({ index: 0, name: 'tench' });
    expect(m.preprocess).toEqual({ size: [227, 227], resize: [256, 256], channelOrder: 'BGR', mean: [104, 117, 123], std: [1, 1, 1], scale: 1 });
    expect(countParams(m.graph)).toBe(60965224);
  });

  it('BVLC GoogLeNet loads with weights (7.0 M parameters)', async () => {
    const m = await loadModel(models('bvlc_googlenet'));
    expect(m.id).toBe('bvlc_googlenet');
    expect(m.graph.input).toEqual({ blob: 'data', shape: [3, 224, 224] });
    let n = 0;
    for (const blobs of m.graph.weights!.values()) for (const b of blobs) n += b.data.length;
    expect(n).toBe(countParams(m.graph));
    expect(n / 1e6).toBeCloseTo(7.0, 1);
    const w = m.graph.weights!.get('conv1/7x7_s2')!;
    expect(w.map((b) => b.shape)).toEqual([[64, 3, 7, 7], [64]]);
    expect(w[0].data.every(Number.isFinite)).toBe(true);
    const by = new Map(m.graph.blobs.map((b) => [b.name, b]));
    expect(by.get('inception_5b/output')!.shape).toEqual([1024, 7, 7]);
    expect(by.get('pool5/7x7_s1')!.shape).toEqual([1024, 1, 1]);
    expect(by.get('prob')!.shape).toEqual([1000]);
    expect(m.graph.weights!.get('loss3/classifier')![0].shape).toEqual([1000, 1024]);
    expect(m.labels![0]).toEqual({ index: 0, synset: 'n01440764', name: 'tench, Tinca tinca' });
  });

  it('SqueezeNet v1.1 loads with weights (1.2 M parameters)', async () => {
    const m = await loadModel(models('squeezenet_v1.1'), { mean: [1, 2, 3] });
    let n = 0;
    for (const blobs of m.graph.weights!.values()) for (const b of blobs) n += b.data.length;
    expect(n / 1e6).toBeCloseTo(1.2, 1);
    expect(m.preprocess.size).toEqual([227, 227]);
    expect(m.preprocess.mean).toEqual([1, 2, 3]);
    const by = new Map(m.graph.blobs.map((b) => [b.name, b]));
    expect(by.get('conv1')!.shape).toEqual([64, 113, 113]);
    expect(by.get('pool1')!.shape).toEqual([64, 56, 56]);
    expect(by.get('conv10')!.shape).toEqual([1000, 14, 14]);
    expect(by.get('pool10')!.shape).toEqual([1000, 1, 1]);
  });
});
