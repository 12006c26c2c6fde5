/** Layers both TF.js importers (Layers models and Graph models) emit the same way. */
import type { PoolingLayer } from '../../graph/tensor-layers.ts';
import type { ConvLayer, Pair } from '../../graph/types.ts';

/** A 1×1 convolution (Keras pointwise conv, Dense on a feature map). */
export function pointwiseConv(name: string, bottom: string, top: string, numOutput: number, biasTerm: boolean): ConvLayer {
  return { kind: 'conv', name, bottoms: [bottom], tops: [top], numOutput, kernel: [1, 1], stride: [1, 1], pad: [0, 0], dilation: [1, 1], group: 1, biasTerm };
}

/** TensorFlow's 2-D max/average pooling over a per-image H×W map, padding "SAME" or "VALID". */
export function tfPooling(
  name: string,
  bottom: string,
  top: string,
  method: 'max' | 'ave',
  size: Pair,
  kernel: Pair,
  stride: Pair,
  same: boolean,
): PoolingLayer {
  const [padBegin, padEnd] = same
    ? samePads(size, kernel, stride, [1, 1])
    : [
        [0, 0],
        [0, 0],
      ];
  return {
    kind: 'pooling',
    name,
    bottoms: [bottom],
    tops: [top],
    method,
    kernel,
    stride,
    dilation: [1, 1],
    padBegin,
    padEnd,
    ceil: false,
    countIncludePad: false,
  };
}

/** TF 'SAME' padding: [begin, end] per axis. */
export function samePads(size: Pair, kernel: Pair, stride: Pair, dilation: Pair): [Pair, Pair] {
  const b: number[] = [],
    e: number[] = [];
  for (let i = 0; i < 2; i++) {
    const out = Math.ceil(size[i] / stride[i]);
    const total = Math.max((out - 1) * stride[i] + dilation[i] * (kernel[i] - 1) + 1 - size[i], 0);
    b.push(Math.floor(total / 2));
    e.push(total - Math.floor(total / 2));
  }
  return [
    [b[0], b[1]],
    [e[0], e[1]],
  ];
}
