import type { Layer, Pair } from '../../graph/types.ts';
import { Fields } from './fields.ts';
import { Ident, type TextMessage } from './prototxt.ts';

/**
 * Caffe net definition (parsed prototxt) → format-independent Layer[]. Handles the current format
 * (`layer { type: "Convolution" }`, `Input` layers) and the old V1 format (`layers { type:
 * CONVOLUTION }`, top-level `input:` + `input_dim:`/`input_shape`). Layers are filtered for the
 * TEST phase, as Caffe does for a deploy net.
 */

export interface CaffeNetDef {
  name: string;
  layers: Layer[];
  /** InnerProduct layers declared with `transpose: true` (weights stored [in, out]). */
  transposedFc: Set<string>;
}

/** V1 enum type → the current type string (for the types we run; others keep their V1 name). */
const V1_TYPES: Record<string, string> = {
  CONVOLUTION: 'Convolution',
  INNER_PRODUCT: 'InnerProduct',
  RELU: 'ReLU',
  POOLING: 'Pooling',
  LRN: 'LRN',
  CONCAT: 'Concat',
  DROPOUT: 'Dropout',
  SOFTMAX: 'Softmax',
  SPLIT: 'Split',
  FLATTEN: 'Flatten',
  ELTWISE: 'Eltwise',
  DATA: 'Data',
  IMAGE_DATA: 'ImageData',
  HDF5_DATA: 'HDF5Data',
  MEMORY_DATA: 'MemoryData',
  WINDOW_DATA: 'WindowData',
  DUMMY_DATA: 'DummyData',
  SOFTMAX_LOSS: 'SoftmaxWithLoss',
  ACCURACY: 'Accuracy',
  EUCLIDEAN_LOSS: 'EuclideanLoss',
  HINGE_LOSS: 'HingeLoss',
  INFOGAIN_LOSS: 'InfogainLoss',
  MULTINOMIAL_LOGISTIC_LOSS: 'MultinomialLogisticLoss',
  SIGMOID_CROSS_ENTROPY_LOSS: 'SigmoidCrossEntropyLoss',
  CONTRASTIVE_LOSS: 'ContrastiveLoss',
};
/** V1 enum numbers (for `type: 4` style files). */
const V1_NUMBERS: Record<number, string> = {
  3: 'CONCAT',
  4: 'CONVOLUTION',
  5: 'DATA',
  6: 'DROPOUT',
  8: 'FLATTEN',
  14: 'INNER_PRODUCT',
  15: 'LRN',
  17: 'POOLING',
  18: 'RELU',
  20: 'SOFTMAX',
  21: 'SOFTMAX_LOSS',
  22: 'SPLIT',
  25: 'ELTWISE',
  1: 'ACCURACY',
};

const DATA_TYPES = new Set(['Data', 'ImageData', 'HDF5Data', 'MemoryData', 'WindowData', 'DummyData', 'Python']);
const LABEL_TYPES = /Loss$|^Accuracy$/;

export function caffeNetFromText(root: TextMessage, file: string): CaffeNetDef {
  const net = new Fields(root, file, 'net');
  const layers: Layer[] = topLevelInputs(net);
  const transposedFc = new Set<string>();
  const v2 = net.subs('layer');
  const v1 = net.subs('layers');
  if (v2.length && v1.length) net.fail('mixes `layer` (current format) and `layers` (V1 format) entries');
  const seen = new Set<string>(layers.map((l) => l.name));
  for (const def of v2.length ? v2 : v1) {
    const f = new Fields(def.msg, file, 'layer');
    const name = f.str('name', '');
    const lf = new Fields(def.msg, file, name ? `layer "${name}"` : `unnamed layer`);
    if (!name) lf.fail('layer has no name');
    if (!inTestPhase(lf)) continue;
    if (seen.has(name)) lf.fail('duplicate layer name (weights are matched to layers by name)');
    seen.add(name);
    const type = v2.length ? lf.str('type') : v1Type(lf);
    const layer = convert(lf, name, type, transposedFc);
    layers.push(layer);
  }
  return { name: net.str('name', ''), layers, transposedFc };
}

function v1Type(f: Fields): string {
  const field = f.msg.get('type');
  if (!field) f.fail('type is required');
  const v = field.value;
  const key = v instanceof Ident ? v.name : typeof v === 'number' ? (V1_NUMBERS[v] ?? `V1 type ${v}`) : typeof v === 'string' ? v : '?';
  return V1_TYPES[key] ?? key;
}

/** Caffe's NetStateRule check for state {phase: TEST, level: 0, no stages}. */
function inTestPhase(f: Fields): boolean {
  const meets = (rule: Fields): boolean => {
    if (rule.has('phase') && rule.enumOf('phase', ['TRAIN', 'TEST'], 'TEST') !== 'TEST') return false;
    if (rule.has('min_level') && 0 < rule.num('min_level')) return false;
    if (rule.has('max_level') && 0 > rule.num('max_level')) return false;
    if (rule.strs('stage').length > 0) return false;
    return true;
  };
  const include = f.subs('include');
  const exclude = f.subs('exclude');
  if (include.length && exclude.length) f.fail('has both include and exclude rules');
  if (include.length) return include.some(meets);
  if (exclude.length) return !exclude.some(meets);
  return true;
}

/** Top-level `input: "data"` with `input_dim` ×4 or `input_shape { dim … }` per input. */
function topLevelInputs(net: Fields): Layer[] {
  const names = net.strs('input');
  const dims = net.ints('input_dim');
  const shapes = net.subs('input_shape');
  if (!names.length) {
    if (dims.length || shapes.length) net.fail('input_dim/input_shape given without `input:`');
    return [];
  }
  if (dims.length && shapes.length) net.fail('give either input_dim or input_shape, not both');
  return names.map((blob, i) => {
    let d: number[];
    if (shapes.length) {
      if (shapes.length !== names.length) net.fail(`${names.length} inputs but ${shapes.length} input_shape entries`);
      d = shapes[i].ints('dim');
    } else {
      if (dims.length !== 4 * names.length) net.fail(`${names.length} input(s) need ${4 * names.length} input_dim values, got ${dims.length}`);
      d = dims.slice(4 * i, 4 * i + 4);
    }
    return { kind: 'input', name: blob, bottoms: [], tops: [blob], shape: chw(net, blob, d) } as Layer;
  });
}

function chw(f: Fields, blob: string, d: number[]): [number, number, number] {
  if (d.length !== 4 || d.some((x) => x < 1)) f.fail(`input "${blob}" must have 4 dims N×C×H×W ≥ 1, got ${d.join('×') || 'none'}`);
  return [d[1], d[2], d[3]];
}

function io(f: Fields, nBottom: number | 'any', nTop: number | 'any' = 1): { bottoms: string[]; tops: string[] } {
  const bottoms = f.strs('bottom');
  const tops = f.strs('top');
  if (nBottom !== 'any' && bottoms.length !== nBottom) f.fail(`needs ${nBottom} bottom blob(s), got ${bottoms.length}`);
  if (nBottom === 'any' && bottoms.length < 1) f.fail('needs at least one bottom blob');
  if (nTop !== 'any' && tops.length !== nTop) f.fail(`needs ${nTop} top blob(s), got ${tops.length}`);
  if (nTop === 'any' && tops.length < 1) f.fail('needs at least one top blob');
  return { bottoms, tops };
}

function convert(f: Fields, name: string, type: string, transposedFc: Set<string>): Layer {
  switch (type) {
    case 'Input': {
      const { tops } = io(f, 0, 'any');
      const shapes = f.subOrEmpty('input_param').subs('shape');
      if (shapes.length !== 1 && shapes.length !== tops.length) f.fail(`input_param needs one shape (or one per top), got ${shapes.length}`);
      if (tops.length !== 1) f.fail('only one input blob is supported');
      return { kind: 'input', name, bottoms: [], tops, shape: chw(f, tops[0], shapes[0].ints('dim')) };
    }
    case 'Convolution': {
      const p = f.sub('convolution_param') ?? f.fail('convolution_param is required');
      if (p.int('axis', 1) !== 1) p.fail('convolution_param.axis other than 1 is not supported');
      const dil = p.ints('dilation', 1);
      if (dil.length > 2) p.fail('dilation: only 2-D (one value, or h and w) is supported');
      const dilation: Pair = dil.length === 0 ? [1, 1] : dil.length === 1 ? [dil[0], dil[0]] : [dil[0], dil[1]];
      return {
        kind: 'conv',
        name,
        ...io(f, 1),
        numOutput: p.int('num_output', undefined, 1),
        kernel: p.pair('kernel_size', undefined, { min: 1 }),
        stride: p.pair('stride', 1, { min: 1 }),
        pad: p.pair('pad', 0),
        dilation,
        group: p.int('group', 1, 1),
        biasTerm: p.bool('bias_term', true),
      };
    }
    case 'InnerProduct': {
      const p = f.sub('inner_product_param') ?? f.fail('inner_product_param is required');
      if (p.int('axis', 1) !== 1) p.fail('inner_product_param.axis other than 1 is not supported');
      if (p.bool('transpose', false)) transposedFc.add(name);
      return { kind: 'fc', name, ...io(f, 1), numOutput: p.int('num_output', undefined, 1), biasTerm: p.bool('bias_term', true) };
    }
    case 'ReLU':
      return { kind: 'relu', name, ...io(f, 1), negativeSlope: f.subOrEmpty('relu_param').num('negative_slope', 0) };
    case 'Pooling':
      return pooling(f, name);
    case 'LRN': {
      const p = f.subOrEmpty('lrn_param');
      if (p.enumOf('norm_region', ['ACROSS_CHANNELS', 'WITHIN_CHANNEL'], 'ACROSS_CHANNELS') !== 'ACROSS_CHANNELS')
        p.fail('LRN norm_region WITHIN_CHANNEL is not supported (only ACROSS_CHANNELS)');
      const localSize = p.int('local_size', 5, 1);
      if (localSize % 2 === 0) p.fail(`LRN local_size must be odd, got ${localSize}`);
      return { kind: 'lrn', name, ...io(f, 1), localSize, alpha: p.num('alpha', 1), beta: p.num('beta', 0.75), k: p.num('k', 1) };
    }
    case 'Concat': {
      const p = f.subOrEmpty('concat_param');
      if (p.has('axis') && p.has('concat_dim')) p.fail('give either concat_param.axis or concat_dim, not both');
      const axis = p.has('concat_dim') ? p.int('concat_dim') : p.num('axis', 1);
      return { kind: 'concat', name, ...io(f, 'any'), axis };
    }
    case 'Dropout':
      return { kind: 'identity', name, ...io(f, 1) };
    case 'Split':
      return { kind: 'identity', name, ...io(f, 1, 'any') };
    case 'Softmax': {
      const p = f.subOrEmpty('softmax_param');
      if (p.num('axis', 1) !== 1) p.fail('softmax_param.axis other than 1 (channels) is not supported');
      return { kind: 'softmax', name, ...io(f, 1) };
    }
    case 'Flatten': {
      const p = f.subOrEmpty('flatten_param');
      if (p.num('axis', 1) !== 1 || p.num('end_axis', -1) !== -1) p.fail('Flatten is supported only with axis 1 and end_axis -1');
      return { kind: 'flatten', name, ...io(f, 1) };
    }
    case 'Eltwise': {
      const p = f.subOrEmpty('eltwise_param');
      const op = p.enumOf('operation', ['PROD', 'SUM', 'MAX'], 'SUM');
      const { bottoms, tops } = io(f, 'any');
      if (bottoms.length < 2) f.fail(`Eltwise needs at least 2 bottoms, got ${bottoms.length}`);
      const coeff = p.nums('coeff');
      if (coeff.length && op !== 'SUM') p.fail('Eltwise coeff is only allowed with operation SUM');
      if (coeff.length && coeff.length !== bottoms.length) p.fail(`Eltwise has ${bottoms.length} bottoms but ${coeff.length} coeff values`);
      const coeffs = coeff.length ? coeff : bottoms.map(() => 1);
      return { kind: 'eltwise', name, bottoms, tops, op: op.toLowerCase() as 'sum' | 'prod' | 'max', coeffs };
    }
    case 'Scale': {
      const p = f.subOrEmpty('scale_param');
      if (f.strs('bottom').length !== 1) f.fail('Scale with a second bottom (scale from a blob) is not supported');
      if (p.num('axis', 1) !== 1 || p.num('num_axes', 1) !== 1) p.fail('Scale is supported only with axis 1 and num_axes 1 (per channel)');
      return { kind: 'scale', name, ...io(f, 1), biasTerm: p.bool('bias_term', false) };
    }
    case 'BatchNorm': {
      const p = f.subOrEmpty('batch_norm_param');
      if (p.has('use_global_stats') && !p.bool('use_global_stats', true)) p.fail('BatchNorm with use_global_stats: false (batch statistics) is not supported');
      return { kind: 'batchnorm', name, ...io(f, 1), eps: p.num('eps', 1e-5) };
    }
    default: {
      const at = f.msg.get('type');
      if (DATA_TYPES.has(type)) f.fail(`type "${type}" reads training data: use a deploy prototxt (an Input layer, or input: + input_dim:)`, at);
      if (LABEL_TYPES.test(type)) f.fail(`type "${type}" needs labels (training/testing only): use a deploy prototxt`, at);
      f.fail(`unsupported type "${type}"`, at);
    }
  }
}

function pooling(f: Fields, name: string): Layer {
  const p = f.subOrEmpty('pooling_param');
  const method = p.enumOf('pool', ['MAX', 'AVE', 'STOCHASTIC'], 'MAX');
  if (method === 'STOCHASTIC') p.fail('STOCHASTIC pooling is not supported');
  if (p.has('round_mode') && p.enumOf('round_mode', ['CEIL', 'FLOOR'], 'CEIL') !== 'CEIL') p.fail('pooling round_mode FLOOR is not supported');
  const global = p.bool('global_pooling', false);
  const pad = p.pair('pad', 0, { repeated: false });
  const stride = p.pair('stride', 1, { min: 1, repeated: false });
  let kernel: Pair = [0, 0];
  if (global) {
    if (p.has('kernel_size') || p.has('kernel_h') || p.has('kernel_w')) p.fail('global_pooling: kernel size must not be given');
    if (pad[0] || pad[1] || stride[0] !== 1 || stride[1] !== 1) p.fail('global_pooling needs pad 0 and stride 1');
  } else {
    kernel = p.pair('kernel_size', undefined, { min: 1, repeated: false });
    if (pad[0] >= kernel[0] || pad[1] >= kernel[1]) p.fail(`pad ${pad.join('×')} must be smaller than the kernel ${kernel.join('×')}`);
  }
  return { kind: 'pool', name, ...io(f, 1), method: method === 'MAX' ? 'max' : 'ave', kernel, stride, pad, global };
}
