/**
 * ONNX CNNs for the tests, built with the test writer and seeded random weights (He-scaled so
 * activations stay O(1) through the depth): the toolbox's CaffeNet (227×227, grouped convs, LRN,
 * fc6–fc8) as PyTorch would export it, and a "modern" net exercising the other operators.
 */
import { OnnxBuilder, INT64 } from '../../pipeline/io/onnx-writer.ts';
import { randn, rng } from './net-graph.ts';

export interface BuiltModel {
  bytes: Uint8Array;
  input: string;
  dims: number[];
  /** Every tensor a node computes (all exposed as graph outputs for the reference run). */
  tensors: string[];
  external?: Uint8Array;
}

export class Weights {
  private r: () => number;
  constructor(
    seed: number,
    readonly b: OnnxBuilder,
    readonly storage?: 'raw' | 'typed' | 'external',
  ) {
    this.r = rng(seed);
  }
  he(name: string, dims: number[], fanIn: number): string {
    const n = dims.reduce((a, d) => a * d, 1);
    return this.b.init(name, dims, randn(this.r, n, Math.sqrt(2 / fanIn)), { storage: this.storage });
  }
  small(name: string, dims: number[], scale = 0.1, offset = 0): string {
    const n = dims.reduce((a, d) => a * d, 1);
    return this.b.init(
      name,
      dims,
      randn(this.r, n, scale).map((v) => v + offset),
      { storage: this.storage },
    );
  }
  positive(name: string, dims: number[]): string {
    const n = dims.reduce((a, d) => a * d, 1);
    return this.b.init(
      name,
      dims,
      Float32Array.from({ length: n }, () => 0.5 + this.r()),
      { storage: this.storage },
    );
  }
}

export function finish(b: OnnxBuilder, input: string, dims: number[], intTensors: string[] = []): BuiltModel {
  for (const t of b.tensors) b.output(t, intTensors.includes(t) ? INT64 : undefined);
  return { bytes: b.bytes(), input, dims, tensors: [...b.tensors], external: b.external.length ? b.external : undefined };
}

/** CaffeNet as used by the toolbox (conv2/4/5 in 2 groups), exported PyTorch-style. */
export function caffenetOnnx(seed = 1): BuiltModel {
  const b = new OnnxBuilder(13, 'caffenet');
  const w = new Weights(seed, b);
  b.input('data', ['batch', 3, 227, 227]);
  const conv = (name: string, x: string, cin: number, cout: number, k: number, stride: number, pad: number, group: number) =>
    b.node(
      'Conv',
      [x, w.he(`${name}.weight`, [cout, cin / group, k, k], (cin / group) * k * k), w.small(`${name}.bias`, [cout])],
      { kernel_shape: [k, k], strides: [stride, stride], pads: [pad, pad, pad, pad], group, dilations: [1, 1] },
      [name],
      name,
    );
  const relu = (x: string, out: string) => b.node('Relu', [x], {}, [out], `relu_${out}`);
  const pool = (x: string, out: string) => b.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2] }, [out], out);
  const lrn = (x: string, out: string) => b.node('LRN', [x], { size: 5, alpha: { f: 1e-4 }, beta: { f: 0.75 }, bias: { f: 1 } }, [out], out);
  let x = relu(conv('conv1', 'data', 3, 96, 11, 4, 0, 1), 'conv1_relu');
  x = lrn(pool(x, 'pool1'), 'norm1');
  x = relu(conv('conv2', x, 96, 256, 5, 1, 2, 2), 'conv2_relu');
  x = lrn(pool(x, 'pool2'), 'norm2');
  x = relu(conv('conv3', x, 256, 384, 3, 1, 1, 1), 'conv3_relu');
  x = relu(conv('conv4', x, 384, 384, 3, 1, 1, 2), 'conv4_relu');
  x = relu(conv('conv5', x, 384, 256, 3, 1, 1, 2), 'conv5_relu');
  x = pool(x, 'pool5');
  x = b.node('Flatten', [x], { axis: 1 }, ['flat'], 'flatten');
  const fc = (name: string, x: string, cin: number, cout: number) =>
    b.node('Gemm', [x, w.he(`${name}.weight`, [cout, cin], cin), w.small(`${name}.bias`, [cout])], { transB: 1 }, [name], name);
  x = b.node('Dropout', [relu(fc('fc6', x, 9216, 4096), 'fc6_relu')], {}, ['drop6'], 'drop6');
  x = b.node('Dropout', [relu(fc('fc7', x, 4096, 4096), 'fc7_relu')], {}, ['drop7'], 'drop7');
  x = fc('fc8', x, 4096, 1000);
  b.node('Softmax', [x], { axis: 1 }, ['prob'], 'prob');
  return finish(b, 'data', [1, 3, 227, 227]);
}

/**
 * A net with the operators of modern PyTorch/TF exports: normalisation inside the graph (Sub/Div
 * by constants), BatchNormalization, ReLU6 (Clip), depthwise and dilated convolutions, SAME_UPPER
 * and asymmetric pads, ceil-mode and count-include-pad pooling, a residual Add, a squeeze-excite
 * block (GlobalAveragePool → 1×1 convs → Sigmoid → Mul), Concat, ConvTranspose, reflect Pad,
 * LeakyRelu/Tanh/Elu, a dynamic Reshape (Shape → Gather → Unsqueeze → Concat), Transpose, MatMul,
 * ReduceMean, Gemm and LogSoftmax.
 */
export function modernOnnx(seed = 2, storage?: 'raw' | 'typed' | 'external'): BuiltModel {
  const b = new OnnxBuilder(13, 'modern');
  const w = new Weights(seed, b, storage);
  b.input('image', ['N', 3, 37, 33]);
  const mean = b.init('mean', [1, 3, 1, 1], [0.485, 0.456, 0.406]);
  const std = b.init('std', [1, 3, 1, 1], [0.229, 0.224, 0.225]);
  let x = b.node('Div', [b.node('Sub', ['image', mean], {}, ['centered']), std], {}, ['normalized']);
  const conv = (name: string, x: string, cin: number, cout: number, k: number, attrs: Record<string, number | number[] | string> = {}, bias = true) => {
    const group = (attrs.group as number | undefined) ?? 1;
    const ins = [x, w.he(`${name}.w`, [cout, cin / group, k, k], (cin / group) * k * k)];
    if (bias) ins.push(w.small(`${name}.b`, [cout]));
    return b.node('Conv', ins, { kernel_shape: [k, k], ...attrs }, [name], name);
  };
  const bn = (name: string, x: string, c: number) =>
    b.node(
      'BatchNormalization',
      [x, w.small(`${name}.g`, [c], 0.2, 1), w.small(`${name}.beta`, [c]), w.small(`${name}.mu`, [c]), w.positive(`${name}.var`, [c])],
      { epsilon: { f: 1e-3 } },
      [name],
      name,
    );
  const six = b.init('six', [], [6]);
  const zero = b.init('zero', [], [0]);
  x = b.node('Clip', [bn('bn1', conv('conv1', x, 3, 16, 3, { strides: [2, 2], auto_pad: 'SAME_UPPER' }, false), 16), zero, six], {}, ['relu6_1']);
  // depthwise 3×3 + pointwise, residual
  const dw = b.node('Relu', [bn('bn_dw', conv('dw', x, 16, 16, 3, { group: 16, pads: [2, 2, 2, 2], dilations: [2, 2] }), 16)], {}, ['dw_relu']);
  const pw = bn('bn_pw', conv('pw', dw, 16, 16, 1, {}, false), 16);
  x = b.node('Add', [x, pw], {}, ['res1']);
  // squeeze-excite
  const se = b.node('GlobalAveragePool', [x], {}, ['se_pool']);
  const se1 = b.node('Relu', [conv('se_fc1', se, 16, 4, 1)], {}, ['se_relu']);
  const se2 = b.node('Sigmoid', [conv('se_fc2', se1, 4, 16, 1)], {}, ['se_gate']);
  x = b.node('Mul', [x, se2], {}, ['se_out']);
  // asymmetric pads, dilation, pooling variants
  const a = b.node('LeakyRelu', [conv('conv_asym', x, 16, 8, 3, { pads: [0, 1, 2, 1] })], { alpha: { f: 0.2 } }, ['asym_relu']);
  const m = b.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, ['maxpool_ceil']);
  const av = b.node('AveragePool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1], count_include_pad: 1 }, ['avgpool_incl']);
  const a2 = b.node('AveragePool', [a], { kernel_shape: [3, 3], strides: [2, 2], pads: [0, 0, 1, 1] }, ['avgpool_excl']);
  x = b.node('Concat', [m, av], { axis: 1 }, ['concat']);
  x = b.node('Tanh', [conv('conv_cat', x, 32, 8, 1)], {}, ['tanh']);
  x = b.node('Add', [x, a2], {}, ['res2']);
  // up and down again: transposed convolution, reflect padding, elu
  x = b.node('ConvTranspose', [x, w.he('up.w', [8, 6, 3, 3], 8 * 9), w.small('up.b', [6])], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, [
    'up',
  ]);
  x = b.node('Pad', [x, b.init('pads', [8], [0, 0, 1, 2, 0, 0, 1, 0], { type: INT64 })], { mode: 'reflect' }, ['reflect']);
  x = b.node('Elu', [conv('conv_down', x, 6, 12, 3, { strides: [2, 2] })], { alpha: { f: 0.5 } }, ['elu']);
  const reduced = b.node('ReduceMean', [x], { axes: [1], keepdims: 1 }, ['chan_mean']);
  x = b.node('Sub', [x, reduced], {}, ['centered_feat']);
  // dynamic reshape to [N, C, H*W], transpose, matmul over channels
  const shape = b.node('Shape', [x], {}, ['feat_shape']);
  const n = b.node('Gather', [shape, b.init('i0', [], [0], { type: INT64 })], { axis: 0 }, ['n']);
  const c = b.node('Gather', [shape, b.init('i1', [], [1], { type: INT64 })], { axis: 0 }, ['c']);
  const newShape = b.node(
    'Concat',
    [
      b.node('Unsqueeze', [n, b.init('ax0', [1], [0], { type: INT64 })], {}, ['n1']),
      b.node('Unsqueeze', [c, b.init('ax0b', [1], [0], { type: INT64 })], {}, ['c1']),
      b.init('minus1', [1], [-1], { type: INT64 }),
    ],
    { axis: 0 },
    ['new_shape'],
  );
  x = b.node('Reshape', [x, newShape], {}, ['tokens']);
  x = b.node('Transpose', [x], { perm: [0, 2, 1] }, ['tokens_t']);
  x = b.node('MatMul', [x, w.he('proj', [12, 10], 12)], {}, ['proj_out']);
  x = b.node('ReduceMean', [x], { axes: [1], keepdims: 0 }, ['pooled']);
  x = b.node('Gemm', [x, w.he('cls.w', [10, 7], 10), w.small('cls.b', [1, 7])], { alpha: { f: 0.5 }, beta: { f: 2 } }, ['logits']);
  b.node('LogSoftmax', [x], { axis: 1 }, ['logprob']);
  return finish(b, 'image', [2, 3, 37, 33], ['feat_shape', 'n', 'c', 'n1', 'c1', 'new_shape']);
}

/**
 * A small image classifier (3×64×64 → 10 classes) as a PyTorch export would write it: symbolic
 * batch, BatchNormalization, Clip (ReLU6), GlobalAveragePool, Flatten, Gemm, Softmax.
 */
export function tinyClassifierOnnx(seed = 3, opts: { symbolicSize?: boolean; extraOp?: string } = {}): BuiltModel {
  const b = new OnnxBuilder(13, 'tiny');
  const w = new Weights(seed, b);
  b.input('input', opts.symbolicSize ? ['N', 3, 'H', 'W'] : ['N', 3, 64, 64]);
  let x = b.node(
    'Conv',
    ['input', w.he('c1.w', [8, 3, 5, 5], 75), w.small('c1.b', [8])],
    { kernel_shape: [5, 5], strides: [2, 2], pads: [2, 2, 2, 2] },
    ['conv1'],
    '/features/conv1/Conv',
  );
  x = b.node(
    'BatchNormalization',
    [x, w.small('g', [8], 0.1, 1), w.small('beta', [8]), w.small('mu', [8]), w.positive('var', [8])],
    {},
    ['bn1'],
    '/features/bn1/BatchNormalization',
  );
  x = b.node('Relu', [x], {}, ['relu1'], '/features/relu1/Relu');
  x = b.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, ['pool1'], '/features/pool1/MaxPool');
  if (opts.extraOp) x = b.node(opts.extraOp, [x], {}, ['odd'], '/features/odd');
  x = b.node(
    'Conv',
    [x, w.he('c2.w', [16, 8, 3, 3], 72), w.small('c2.b', [16])],
    { kernel_shape: [3, 3], pads: [1, 1, 1, 1] },
    ['conv2'],
    '/features/conv2/Conv',
  );
  x = b.node('Clip', [x, b.init('lo', [], [0]), b.init('hi', [], [6])], {}, ['relu6'], '/features/relu6/Clip');
  x = b.node('GlobalAveragePool', [x], {}, ['gap'], '/pool/GlobalAveragePool');
  x = b.node('Flatten', [x], { axis: 1 }, ['flat'], '/Flatten');
  x = b.node('Gemm', [x, w.he('fc.w', [10, 16], 16), w.small('fc.b', [10])], { transB: 1 }, ['fc'], '/classifier/Gemm');
  b.node('Softmax', [x], { axis: 1 }, ['prob'], '/Softmax');
  b.output('prob');
  return { bytes: b.bytes(), input: 'input', dims: [1, 3, 64, 64], tensors: [...b.tensors] };
}
