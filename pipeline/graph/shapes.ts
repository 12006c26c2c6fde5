import { UserError } from '../core/errors.ts';
import { pixelRf, unionRf, wholeImageRf, windowRf } from './receptive-field.ts';
import { tensorLayerOutputs } from './tensor-shapes.ts';
import { isTensorLayer } from './tensor-layers.ts';
import { tokenOutput } from './token-layout.ts';
import { type BlobInfo, type BlobOut, type Graph, type Layer, type Pair, setBlobOut } from './types.ts';

/**
 * Format-independent shape inference over Layer[], with Caffe's semantics:
 * - convolution: floor((H + 2p − (d(k−1)+1)) / s) + 1;
 * - pooling: ceil((H + 2p − k) / s) + 1, minus one when padding makes the last window start
 *   outside the image (Caffe's correction); global pooling covers the whole input (its `kernel`
 *   is filled in here with the input H×W);
 * - fully connected: flattens C,H,W, output [C];
 * - in-place layers (top = bottom, e.g. ReLU) keep the blob and become its producer.
 * Errors name the layer and are UserErrors (`source` names the model file).
 */

export interface InferredGraph {
  input: Graph['input'];
  blobs: BlobInfo[];
}

const IN_PLACE_OK = new Set(['relu', 'identity', 'softmax', 'scale', 'batchnorm', 'lrn']);

export function inferShapes(layers: Layer[], source: string): InferredGraph {
  const blobs = new Map<string, BlobInfo>();
  let input: Graph['input'] | undefined;
  const fail = (l: Layer, msg: string): never => {
    throw new UserError(`${source}: layer "${l.name}": ${msg}`);
  };
  for (const l of layers) {
    const ins = l.bottoms.map((b) => blobs.get(b) ?? fail(l, `bottom "${b}" is not produced by any earlier layer`));
    let outs: BlobOut[];
    if (l.kind === 'input') {
      if (input) fail(l, `a second input ("${l.tops[0]}" after "${input.blob}"): only one image input is supported`);
      input = { blob: l.tops[0], shape: [...l.shape] };
      outs = [{ shape: [...l.shape], rf: pixelRf() }];
    } else {
      const inp = input ?? fail(l, 'comes before any input is declared');
      outs = layerOutputs(l, ins, [inp.shape[1], inp.shape[2]], (m) => fail(l, m));
    }
    l.tops.forEach((top, i) => {
      const out = outs[Math.min(i, outs.length - 1)];
      const existing = blobs.get(top);
      if (existing) {
        if (!l.bottoms.includes(top)) fail(l, `top "${top}" is already produced by layer "${existing.layer}"`);
        if (!IN_PLACE_OK.has(l.kind)) fail(l, `a ${l.kind} layer cannot run in place (top "${top}" = bottom)`);
        existing.producer = l.kind;
        setBlobOut(existing, out);
      } else {
        const b: BlobInfo = { name: top, shape: out.shape, producer: l.kind, layer: l.name, rf: out.rf };
        setBlobOut(b, out);
        blobs.set(top, b);
      }
    });
  }
  if (!input) throw new UserError(`${source}: the net declares no input (an Input layer, or input: + input_dim:)`);
  return { input, blobs: [...blobs.values()] };
}

function spatial(_l: Layer, b: BlobInfo, fail: (m: string) => never): [number, number, number] {
  if (b.shape.length !== 3) fail(`needs a C×H×W input, but "${b.name}" is ${b.shape.join('×')}`);
  return b.shape as [number, number, number];
}

/** Shapes and fields of a layer's outputs, with token layouts followed (token-layout.ts). */
export function layerOutputs(l: Layer, ins: BlobInfo[], imageSize: Pair, fail: (m: string) => never): BlobOut[] {
  const outs = baseOutputs(l, ins, imageSize, fail);
  if (!outs.length) return outs;
  const t = tokenOutput(l, ins, outs[0]);
  if (t) outs[0] = { ...outs[0], rf: t.rf, tokens: t.tokens };
  return outs;
}

function baseOutputs(l: Layer, ins: BlobInfo[], imageSize: Pair, fail: (m: string) => never): BlobOut[] {
  const keepGrid = ins[0]?.grid ? { grid: ins[0].grid } : {};
  const same = () => [{ shape: [...ins[0].shape], rf: ins[0].rf, ...keepGrid }];
  const flat = (n: number) => [{ shape: [n], rf: wholeImageRf(imageSize) }];
  switch (l.kind) {
    case 'input':
      throw new Error('unreachable');
    case 'conv': {
      const [c, h, w] = spatial(l, ins[0], fail);
      if (c % l.group) fail(`input channels ${c} are not divisible by group ${l.group}`);
      if (l.numOutput % l.group) fail(`num_output ${l.numOutput} is not divisible by group ${l.group}`);
      const ext: Pair = [l.dilation[0] * (l.kernel[0] - 1) + 1, l.dilation[1] * (l.kernel[1] - 1) + 1];
      const oh = Math.floor((h + 2 * l.pad[0] - ext[0]) / l.stride[0]) + 1;
      const ow = Math.floor((w + 2 * l.pad[1] - ext[1]) / l.stride[1]) + 1;
      if (oh < 1 || ow < 1) fail(`kernel ${ext.join('×')} does not fit the padded input ${h}×${w} (pad ${l.pad.join('×')})`);
      return [{ shape: [l.numOutput, oh, ow], rf: windowRf(ins[0].rf, ext, l.stride, l.pad) }];
    }
    case 'pool': {
      const [c, h, w] = spatial(l, ins[0], fail);
      if (l.global) {
        l.kernel = [h, w];
        return [{ shape: [c, 1, 1], rf: windowRf(ins[0].rf, [h, w], [1, 1], [0, 0]) }];
      }
      const size = (n: number, i: 0 | 1) => {
        if (n + 2 * l.pad[i] < l.kernel[i]) fail(`kernel ${l.kernel.join('×')} is larger than the padded input ${h}×${w}`);
        let o = Math.ceil((n + 2 * l.pad[i] - l.kernel[i]) / l.stride[i]) + 1;
        if (l.pad[i] > 0 && (o - 1) * l.stride[i] >= n + l.pad[i]) o--;
        return o;
      };
      return [{ shape: [c, size(h, 0), size(w, 1)], rf: windowRf(ins[0].rf, l.kernel, l.stride, l.pad) }];
    }
    case 'fc':
      return flat(l.numOutput);
    case 'flatten':
      return flat(ins[0].shape.reduce((a, d) => a * d, 1));
    case 'lrn':
      spatial(l, ins[0], fail);
      return same();
    case 'relu':
    case 'softmax':
    case 'scale':
    case 'batchnorm':
      return same();
    case 'identity':
      return l.tops.map(() => ({ shape: [...ins[0].shape], rf: ins[0].rf, ...keepGrid }));
    case 'concat': {
      const rank = ins[0].shape.length + 1; // with N
      const axis = l.axis < 0 ? l.axis + rank : l.axis;
      if (axis !== 1) fail(`concat axis ${l.axis} is not supported (only the channel axis 1)`);
      l.axis = 1;
      const rest = ins[0].shape.slice(1).join('×');
      for (const b of ins)
        if (b.shape.length !== ins[0].shape.length || b.shape.slice(1).join('×') !== rest)
          fail(`cannot concatenate "${ins[0].name}" ${ins[0].shape.join('×')} and "${b.name}" ${b.shape.join('×')}`);
      const shape = [ins.reduce((a, b) => a + b.shape[0], 0), ...ins[0].shape.slice(1)];
      return [{ shape, rf: shape.length === 1 ? wholeImageRf(imageSize) : unionRf(ins.map((b) => b.rf)) }];
    }
    case 'eltwise': {
      for (const b of ins)
        if (b.shape.join('×') !== ins[0].shape.join('×'))
          fail(`eltwise inputs differ: "${ins[0].name}" ${ins[0].shape.join('×')} vs "${b.name}" ${b.shape.join('×')}`);
      const shape = [...ins[0].shape];
      const grid = ins.every((b) => b.grid?.join() === ins[0].grid?.join()) ? keepGrid : undefined;
      if (shape.length === 1 || !grid) return [{ shape, rf: wholeImageRf(imageSize) }];
      return [{ shape, rf: unionRf(ins.map((b) => b.rf)), ...grid }];
    }
    default:
      if (isTensorLayer(l)) return tensorLayerOutputs(l, ins, imageSize, fail);
      return fail(`layer kind "${(l as { kind: string }).kind}" has no shape rule`);
  }
}
