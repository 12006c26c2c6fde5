import { afterAll, describe, expect, it } from 'vitest';
import { readCaffemodel } from '../../pipeline/import/caffe/caffemodel.ts';
import { isUserError } from '../../pipeline/core/errors.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { tempModels } from '../helpers/model-dir.ts';
import { PbWriter, blob, layerV1, layerV2, netParameter } from '../helpers/protobuf-encoder.ts';
import { rejection } from '../helpers/errors.ts';

const range = (n: number, k = 1) => Array.from({ length: n }, (_, i) => (i + 1) * k);

describe('.caffemodel reader', () => {
  it('reads packed and unpacked floats, double_data, legacy dims, V1 and V2 layers', () => {
    const buf = netParameter([
      { msg: layerV2('conv', 'Convolution', [blob([2, 1, 2, 2], range(8)), blob([2], [0.5, -0.5], { packed: false })]) },
      { msg: layerV2('d', 'Scale', [blob([3], [1.25, 2.5, 3.75], { double: true }), blob([3], [1, 2, 3], { double: true, packed: false })]) },
      { v1: true, msg: layerV1('fc', 14, [blob([1, 1, 2, 3], range(6), { legacy: true }), blob([1, 1, 1, 2], [7, 8], { legacy: true })]) },
      { msg: layerV2('relu', 'ReLU', []) },
    ]);
    const w = readCaffemodel(buf, 'x.caffemodel');
    expect([...w.layers.keys()]).toEqual(['conv', 'd', 'fc', 'relu']);
    const conv = w.layers.get('conv')!;
    expect(conv[0].shape).toEqual([2, 1, 2, 2]);
    expect([...conv[0].data]).toEqual(range(8));
    expect([...conv[1].data]).toEqual([0.5, -0.5]);
    expect([...w.layers.get('d')![0].data]).toEqual([1.25, 2.5, 3.75]);
    expect([...w.layers.get('d')![1].data]).toEqual([1, 2, 3]);
    const fc = w.layers.get('fc')!;
    expect(fc[0]).toMatchObject({ shape: [1, 1, 2, 3], legacy: true });
    expect(fc[1].shape).toEqual([1, 1, 1, 2]);
    expect(w.types.get('fc')).toBe('V1:14');
  });

  it('accepts a Node Buffer at an odd offset (the floats are copied, aligned)', () => {
    const bytes = netParameter([{ msg: layerV2('s', 'Scale', [blob([3], [1.5, -2, 3])]) }]);
    const pool = Buffer.alloc(bytes.length + 1);
    pool.set(bytes, 1);
    const data = readCaffemodel(pool.subarray(1), 'b').layers.get('s')![0].data;
    expect([...data]).toEqual([1.5, -2, 3]);
    pool.fill(0);
    expect([...data]).toEqual([1.5, -2, 3]);
  });

  it('skips fields it does not need (diffs, unknown fields of every wire type)', () => {
    const b = blob([2], [3, 4]).packedFloats(6, [9, 9]).varint(99, 12345).doubles(9, [1]).floats(77, [1]);
    const l = layerV2('s', 'Scale', [b]).string(3, 'bottom').bytesField(200, new PbWriter().varint(1, 5));
    const buf = netParameter([{ msg: l }]);
    expect([...readCaffemodel(buf, 'x').layers.get('s')![0].data]).toEqual([3, 4]);
  });

  it('a truncated file is a UserError with the byte offset', () => {
    const buf = netParameter([{ msg: layerV2('conv', 'Convolution', [blob([4, 4], range(16))]) }]);
    for (const cut of [buf.length - 1, buf.length - 40, 9]) {
      let err: Error | undefined;
      try {
        readCaffemodel(buf.subarray(0, cut), 'cut.caffemodel');
      } catch (e) {
        err = e as Error;
      }
      expect(err && isUserError(err)).toBe(true);
      expect(err!.message).toMatch(/^cut\.caffemodel: truncated or corrupt \.caffemodel at byte \d+/);
    }
  });

  it('a blob whose data does not fill its shape is an error naming the layer', () => {
    const buf = netParameter([{ msg: layerV2('conv', 'Convolution', [blob([2, 3], range(5))]) }]);
    expect(() => readCaffemodel(buf, 'f')).toThrow(/layer "conv" blob 0: shape 2×3 needs 6 values, the file has 5/);
  });

  it('a file that is not a caffemodel is an error', () => {
    expect(() => readCaffemodel(new TextEncoder().encode('name: "x"\nlayer {}\n'), 'text.caffemodel')).toThrow(/text\.caffemodel/);
    expect(() => readCaffemodel(new Uint8Array(0), 'empty.caffemodel')).toThrow(/no layers found/);
  });
});

const PROTO = `name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 2 dim: 5 dim: 5 } } }
layer { name: "conv" type: "Convolution" bottom: "data" top: "conv"
  convolution_param { num_output: 4 kernel_size: 3 group: 2 } }
layer { name: "relu" type: "ReLU" bottom: "conv" top: "conv" }
layer { name: "fc" type: "InnerProduct" bottom: "conv" top: "fc" inner_product_param { num_output: 3 } }
`;

const tmp = tempModels();
afterAll(() => tmp.cleanup());

function modelDir(proto: string, weights?: Uint8Array): string {
  return tmp.dir(weights ? { 'deploy.prototxt': proto, 'w.caffemodel': weights } : { 'deploy.prototxt': proto });
}

const goodLayers = () => [
  { msg: layerV2('conv', 'Convolution', [blob([4, 1, 3, 3], range(36)), blob([4], [1, 2, 3, 4])]) },
  { msg: layerV2('fc', 'InnerProduct', [blob([3, 36], range(108)), blob([3], [0, 0, 0])]) },
  { msg: layerV2('loss', 'SoftmaxWithLoss', []) },
];

describe('weights matched to layers by name', () => {
  it('loads matching weights with canonical shapes; legacy 4-D fc blobs fit', async () => {
    const m = await loadModel(modelDir(PROTO, netParameter(goodLayers())));
    expect(m.graph.weights!.get('conv')!.map((b) => b.shape)).toEqual([[4, 1, 3, 3], [4]]);
    expect(m.graph.weights!.get('fc')![0].data[107]).toBe(108);
    const legacy = netParameter([
      goodLayers()[0],
      { v1: true, msg: layerV1('fc', 14, [blob([1, 1, 3, 36], range(108), { legacy: true }), blob([1, 1, 1, 3], [1, 2, 3], { legacy: true })]) },
    ]);
    const m2 = await loadModel(modelDir(PROTO, legacy));
    expect(m2.graph.weights!.get('fc')!.map((b) => b.shape)).toEqual([[3, 36], [3]]);
    expect([...m2.graph.weights!.get('fc')![1].data]).toEqual([1, 2, 3]);
  });

  it('transposed InnerProduct weights are stored back as [out, in]', async () => {
    const proto = PROTO.replace('num_output: 3 }', 'num_output: 3 transpose: true }');
    const t = Array.from({ length: 108 }, (_, k) => {
      const i = k % 3,
        j = Math.floor(k / 3);
      return i * 36 + j;
    });
    const w = netParameter([goodLayers()[0], { msg: layerV2('fc', 'InnerProduct', [blob([36, 3], t), blob([3], [0, 0, 0])]) }]);
    const m = await loadModel(modelDir(proto, w));
    expect([...m.graph.weights!.get('fc')![0].data]).toEqual(Array.from({ length: 108 }, (_, k) => k));
  });

  it('a shape mismatch names the layer and both shapes', async () => {
    const w = netParameter([{ msg: layerV2('conv', 'Convolution', [blob([4, 2, 3, 3], range(72)), blob([4], [1, 2, 3, 4])]) }, goodLayers()[1]]);
    const e = await rejection(loadModel(modelDir(PROTO, w)));
    expect(isUserError(e)).toBe(true);
    expect(e.message).toMatch(/layer "conv": weight shape mismatch: the \.caffemodel has 4×2×3×3, the architecture needs 4×1×3×3/);
  });

  it('missing weights and a wrong blob count are errors naming the layer', async () => {
    const e1 = await rejection(loadModel(modelDir(PROTO, netParameter([goodLayers()[0]]))));
    expect(e1.message).toMatch(/no weights for layer "fc" \(expected 3×36 and 3\)/);
    const w = netParameter([{ msg: layerV2('conv', 'Convolution', [blob([4, 1, 3, 3], range(36))]) }, goodLayers()[1]]);
    const e2 = await rejection(loadModel(modelDir(PROTO, w)));
    expect(e2.message).toMatch(/layer "conv" has 1 parameter blob\(s\) in the \.caffemodel \(4×1×3×3\), the architecture needs 2/);
  });

  it('a truncated .caffemodel on disk fails to load with a one-line UserError', async () => {
    const full = netParameter(goodLayers());
    const e = await rejection(loadModel(modelDir(PROTO, full.subarray(0, full.length - 100))));
    expect(isUserError(e)).toBe(true);
    expect(e.message).toMatch(/w\.caffemodel: truncated or corrupt \.caffemodel at byte \d+/);
    expect(e.message).not.toContain('\n');
  });

  it('weights: false skips the .caffemodel', async () => {
    const m = await loadModel(modelDir(PROTO, new Uint8Array([1, 2, 3])), { weights: false });
    expect(m.graph.weights).toBeUndefined();
  });
});
