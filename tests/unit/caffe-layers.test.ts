import { describe, expect, it } from 'vitest';
import { caffeNetFromText } from '../../pipeline/import/caffe/layers.ts';
import { parsePrototxt } from '../../pipeline/import/caffe/prototxt.ts';
import { isUserError } from '../../pipeline/core/errors.ts';
import { countParams } from '../../pipeline/graph/params.ts';
import { inferShapes } from '../../pipeline/graph/shapes.ts';
import type { Layer } from '../../pipeline/graph/types.ts';
import { errorOf } from '../helpers/errors.ts';

function net(text: string) {
  const def = caffeNetFromText(parsePrototxt(text, 'n.prototxt'), 'n.prototxt');
  const g = inferShapes(def.layers, 'n.prototxt');
  return { ...def, ...g, shape: (b: string) => g.blobs.find((x) => x.name === b)!.shape, blob: (b: string) => g.blobs.find((x) => x.name === b)! };
}

const V2_INPUT = (c: number, h: number, w = h) =>
  `layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: ${c} dim: ${h} dim: ${w} } } }\n`;

describe('Caffe layers → graph', () => {
  it('converts a V1 net (input_dim, enum types, grouped conv, in-place ReLU, dropout)', () => {
    const n = net(`name: "v1"
input: "data" input_dim: 1 input_dim: 3 input_dim: 32 input_dim: 32
layers { name: "conv1" type: CONVOLUTION bottom: "data" top: "conv1" blobs_lr: 1
  convolution_param { num_output: 8 kernel_size: 5 stride: 1 pad: 2 group: 1 } }
layers { name: "relu1" type: RELU bottom: "conv1" top: "conv1" }
layers { name: "pool1" type: POOLING bottom: "conv1" top: "pool1" pooling_param { pool: AVE kernel_size: 3 stride: 2 } }
layers { name: "conv2" type: CONVOLUTION bottom: "pool1" top: "conv2" convolution_param { num_output: 4 kernel_size: 3 group: 2 } }
layers { name: "fc" type: INNER_PRODUCT bottom: "conv2" top: "fc" inner_product_param { num_output: 10 } }
layers { name: "drop" type: DROPOUT bottom: "fc" top: "fc" dropout_param { dropout_ratio: 0.5 } }
layers { name: "prob" type: SOFTMAX bottom: "fc" top: "prob" }
layers { name: "loss" type: SOFTMAX_LOSS bottom: "fc" bottom: "label" include { phase: TRAIN } }`);
    expect(n.name).toBe('v1');
    expect(n.layers.map((l) => l.kind)).toEqual(['input', 'conv', 'relu', 'pool', 'conv', 'fc', 'identity', 'softmax']);
    expect(n.shape('conv1')).toEqual([8, 32, 32]);
    expect(n.shape('pool1')).toEqual([8, 16, 16]); // ceil((32-3)/2)+1 = 16
    expect(n.shape('conv2')).toEqual([4, 14, 14]);
    expect(n.shape('fc')).toEqual([10]);
    expect(n.blob('conv1')).toMatchObject({ producer: 'relu', layer: 'conv1' });
    expect(n.blob('fc').producer).toBe('identity');
    expect((n.layers[3] as Extract<Layer, { kind: 'pool' }>).method).toBe('ave');
    // conv1 8*3*25+8, conv2 4*4*9+4, fc 10*(4*14*14)+10
    expect(countParams(n)).toBe(608 + 148 + 7850);
  });

  it('reads _h/_w forms, repeated kernel_size, dilation, bias_term, LRN, eltwise, concat, BN, scale, split, flatten', () => {
    const n = net(`${V2_INPUT(4, 20, 24)}
layer { name: "a" type: "Convolution" bottom: "data" top: "a" convolution_param { num_output: 6 kernel_h: 3 kernel_w: 5 stride_h: 1 stride_w: 2 pad_h: 1 pad_w: 2 bias_term: false } }
layer { name: "b" type: "Convolution" bottom: "data" top: "b" convolution_param { num_output: 2 kernel_size: 3 kernel_size: 5 stride: 1 stride: 2 pad: 2 pad: 4 dilation: 2 } }
layer { name: "cat" type: "Concat" bottom: "a" bottom: "b" top: "cat" }
layer { name: "bn" type: "BatchNorm" bottom: "cat" top: "cat" }
layer { name: "sc" type: "Scale" bottom: "cat" top: "cat" scale_param { bias_term: true } }
layer { name: "sp" type: "Split" bottom: "cat" top: "s1" top: "s2" }
layer { name: "sum" type: "Eltwise" bottom: "s1" bottom: "s2" top: "sum" eltwise_param { operation: SUM coeff: 1 coeff: -1 } }
layer { name: "norm" type: "LRN" bottom: "sum" top: "norm" lrn_param { local_size: 3 alpha: 2 beta: 0.5 k: 2 } }
layer { name: "gp" type: "Pooling" bottom: "norm" top: "gp" pooling_param { pool: AVE global_pooling: true } }
layer { name: "flat" type: "Flatten" bottom: "gp" top: "flat" }`);
    const a = n.layers[1] as Extract<Layer, { kind: 'conv' }>;
    expect([a.kernel, a.stride, a.pad, a.biasTerm]).toEqual([[3, 5], [1, 2], [1, 2], false]);
    const b = n.layers[2] as Extract<Layer, { kind: 'conv' }>;
    expect([b.kernel, b.stride, b.pad, b.dilation]).toEqual([
      [3, 5],
      [1, 2],
      [2, 4],
      [2, 2],
    ]);
    expect(n.shape('a')).toEqual([6, 20, 12]);
    expect(n.shape('b')).toEqual([2, 20, 12]); // h: 20+4-5+1, w: floor((24+8-9)/2)+1
    expect(n.shape('cat')).toEqual([8, 20, 12]);
    expect(n.blob('cat').producer).toBe('scale');
    expect(n.shape('s2')).toEqual([8, 20, 12]);
    const sum = n.layers.find((l) => l.name === 'sum') as Extract<Layer, { kind: 'eltwise' }>;
    expect([sum.op, sum.coeffs]).toEqual(['sum', [1, -1]]);
    expect(n.layers.find((l) => l.name === 'norm')).toMatchObject({ localSize: 3, alpha: 2, beta: 0.5, k: 2 });
    expect(n.shape('gp')).toEqual([8, 1, 1]);
    expect((n.layers.find((l) => l.name === 'gp') as Extract<Layer, { kind: 'pool' }>).kernel).toEqual([20, 12]);
    expect(n.shape('flat')).toEqual([8]);
    // receptive fields: a: 3×5 stride 1×2 offset -1×-2; b: dilated 5×9 offset -2×-4; the union
    expect(n.blob('a').rf).toEqual({ size: [3, 5], stride: [1, 2], offset: [-1, -2] });
    expect(n.blob('b').rf).toEqual({ size: [5, 9], stride: [1, 2], offset: [-2, -4] });
    expect(n.blob('cat').rf).toEqual({ size: [5, 9], stride: [1, 2], offset: [-2, -4] });
    expect(n.blob('flat').rf).toEqual({ size: [20, 24], stride: [20, 24], offset: [0, 0] });
    // params: a 6*4*15, b 2*4*15+2, bn 3×8 + 1, scale 8+8
    expect(countParams(n)).toBe(360 + 122 + 17 + 16);
  });

  it("pooling uses Caffe's CEIL size, minus one when the last window would start in the padding", () => {
    // H=6, k=2, s=2, p=1: ceil((6+2-2)/2)+1 = 4; (4-1)*2 = 6 >= 6+1? no → 4
    // H=5, k=3, s=2, p=1: ceil((5+2-3)/2)+1 = 3; (3-1)*2 = 4 >= 6? no → 3
    // H=4, k=2, s=3, p=1: ceil((4+2-2)/3)+1 = 3; (3-1)*3 = 6 >= 5 → 2
    for (const [h, k, s, p, want] of [
      [6, 2, 2, 1, 4],
      [5, 3, 2, 1, 3],
      [4, 2, 3, 1, 2],
      [13, 3, 2, 0, 6],
      [14, 3, 2, 0, 7],
    ]) {
      const n = net(
        `${V2_INPUT(1, h)}layer { name: "p" type: "Pooling" bottom: "data" top: "p" pooling_param { pool: MAX kernel_size: ${k} stride: ${s} pad: ${p} } }`,
      );
      expect(n.shape('p')).toEqual([1, want, want]);
    }
  });

  it('top-level input_shape and phase rules (TRAIN layers dropped, exclude TEST dropped)', () => {
    const n = net(`input: "data" input_shape { dim: 1 dim: 3 dim: 8 dim: 8 }
layer { name: "d" type: "Data" top: "data" top: "label" include { phase: TRAIN } }
layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 2 kernel_size: 1 } }
layer { name: "acc" type: "Accuracy" bottom: "c" bottom: "label" top: "acc" exclude { phase: TEST } }`);
    expect(n.layers.map((l) => l.name)).toEqual(['data', 'c']);
    expect(n.input).toEqual({ blob: 'data', shape: [3, 8, 8] });
  });

  it('errors name the layer: unsupported type, data layer, WITHIN_CHANNEL LRN, bad shapes', () => {
    const cases: [string, RegExp][] = [
      [`${V2_INPUT(3, 8)}layer { name: "foo" type: "Crop" bottom: "data" top: "foo" }`, /n\.prototxt:2:21: layer "foo": unsupported type "Crop"/],
      [
        `input: "data" input_dim: 1 input_dim: 3 input_dim: 8 input_dim: 8\nlayers { name: "s" type: SIGMOID bottom: "data" top: "s" }`,
        /layer "s": unsupported type "SIGMOID"/,
      ],
      [`layer { name: "d" type: "Data" top: "data" }`, /layer "d": type "Data" reads training data/],
      [
        `${V2_INPUT(3, 8)}layer { name: "n" type: "LRN" bottom: "data" top: "n" lrn_param { norm_region: WITHIN_CHANNEL } }`,
        /layer "n": LRN norm_region WITHIN_CHANNEL is not supported/,
      ],
      [
        `${V2_INPUT(3, 8)}layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 group: 2 } }`,
        /layer "c": input channels 3 are not divisible by group 2/,
      ],
      [
        `${V2_INPUT(3, 8)}layer { name: "c" type: "Convolution" bottom: "nope" top: "c" convolution_param { num_output: 4 kernel_size: 3 } }`,
        /layer "c": bottom "nope" is not produced by any earlier layer/,
      ],
      [
        `${V2_INPUT(3, 8)}layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 } }`,
        /layer "c": kernel_size \(or kernel_h\/kernel_w\) is required/,
      ],
      [
        `${V2_INPUT(3, 8)}layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 9 } }`,
        /layer "c": kernel 9×9 does not fit/,
      ],
      [
        `${V2_INPUT(3, 8)}layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: 4 kernel_size: 3 kernel_h: 3 kernel_w: 3 } }`,
        /give either kernel_size or kernel_h\/kernel_w/,
      ],
      [
        `${V2_INPUT(3, 8)}layer { name: "e" type: "Eltwise" bottom: "data" bottom: "data" top: "e" eltwise_param { operation: MAX coeff: 1 coeff: 2 } }`,
        /layer "e": Eltwise coeff is only allowed with operation SUM/,
      ],
      [
        `${V2_INPUT(3, 8)}layer { name: "c" type: "Convolution" bottom: "data" top: "c" convolution_param { num_output: -4 kernel_size: 3 } }`,
        /n\.prototxt:2:\d+: layer "c": num_output must be an integer ≥ 1, got -4/,
      ],
      [`layer { name: "c" type: "ReLU" bottom: "x" top: "x" }`, /layer "c": comes before any input|bottom "x" is not produced/],
      [`${V2_INPUT(3, 8)}${V2_INPUT(3, 8).replace(/data/g, 'd2')}`, /only one image input is supported/],
      [
        `${V2_INPUT(3, 8)}layer { name: "c" type: "Convolution" bottom: "data" top: "data" convolution_param { num_output: 4 kernel_size: 1 } }`,
        /a conv layer cannot run in place/,
      ],
    ];
    for (const [text, re] of cases) {
      const e = errorOf(() => net(text));
      expect(isUserError(e), `${e.message}`).toBe(true);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('\n');
    }
  });
});
