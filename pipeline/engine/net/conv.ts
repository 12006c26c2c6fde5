import * as tf from '@tensorflow/tfjs-core';
import type { ConvLayer, ParamBlob } from '../../graph/types.ts';
import { UserError } from '../../core/errors.ts';
import type { GradMode } from './types.ts';
import { reluGrad } from './relu.ts';
import { withGrad, type ExplicitPadding } from './custom.ts';
import { slice4d, splitChannels } from './kernels.ts';
import { dilateKernel, flippedTransposed, groupWeights, spaceToDepthKernel, toHwio, type Arr4 } from './weights.ts';

/** A ReLU fused into the layer before it (in place, so the pre-ReLU value is never visible). */
export interface FusedRelu {
  slope: number;
  mode: GradMode;
}

/** A layer op: applies the layer to its input, optionally with a fused ReLU. */
export interface ParamOp {
  /** `channels`: compute only these output channels, in this order (conv without groups, fc). */
  apply(x: tf.Tensor, relu?: FusedRelu, channels?: number[]): tf.Tensor;
  /** Whether `apply` can restrict its output channels. */
  readonly restrictable: boolean;
  dispose(): void;
}

interface Group {
  filter: tf.Tensor4D;
  bias?: tf.Tensor1D;
  /** Forward-convolution filter for the input gradient (fast path only). */
  gradFilter?: tf.Tensor4D;
  /** Output channels kept (restricted op); the gradient filter is cut from the full one when needed. */
  channels?: number[];
}

const tensor4 = (a: Arr4) => tf.tensor4d(a.data, a.shape);

/**
 * Caffe Convolution. With `fastGrad`, the whole layer (groups, bias, fused ReLU) is one
 * tf.customGrad op whose input gradient is computed by forward convolutions (see docs/net.md):
 * stride 1: a convolution of dy with the flipped, in/out-transposed kernel (same dilation);
 * stride > 1: the layer seen as space-to-depth + stride-1 convolution, whose gradient is a
 * stride-1 convolution followed by depth-to-space. Filters are prepared once, here.
 */
export function makeConv(layer: ConvLayer, params: ParamBlob[] | undefined, inChannels: number, fastGrad: boolean): ParamOp {
  const {
    numOutput: O,
    kernel: [kh, kw],
    stride: [sh, sw],
    pad: [ph, pw],
    dilation: [dh, dw],
    group: G,
  } = layer;
  if (!params || params.length < 1) throw new UserError(`layer ${layer.name}: no weights`);
  if (inChannels % G !== 0 || O % G !== 0)
    throw new UserError(`layer ${layer.name}: ${inChannels} input and ${O} output channels do not split into ${G} groups`);
  const Ig = inChannels / G;
  const w = params[0].data;
  if (w.length !== O * Ig * kh * kw) throw new UserError(`layer ${layer.name}: weights have ${w.length} values, expected ${O}×${Ig}×${kh}×${kw}`);
  const b = layer.biasTerm ? params[1]?.data : undefined;
  if (layer.biasTerm && (!b || b.length !== O)) throw new UserError(`layer ${layer.name}: bias must have ${O} values`);
  const Og = O / G;
  const strided = sh > 1 || sw > 1;
  const stridedDilated = strided && (dh > 1 || dw > 1);
  const fwdDilation: [number, number] = stridedDilated ? [1, 1] : [dh, dw];
  const groups: Group[] = [];
  for (let g = 0; g < G; g++) {
    const wg = groupWeights(w, O, Ig, kh, kw, G, g);
    // tfjs convolutions take a stride or a dilation, not both: such kernels get their holes written in.
    const grp: Group = { filter: tensor4(toHwio(stridedDilated ? dilateKernel(wg, dh, dw) : wg)) };
    if (b) grp.bias = tf.tensor1d(b.slice(g * Og, (g + 1) * Og));
    if (fastGrad) grp.gradFilter = tensor4(flippedTransposed(strided ? spaceToDepthKernel(dilateKernel(wg, dh, dw), sh, sw) : wg));
    groups.push(grp);
  }
  const gradFilters = groups.map((g) => g.gradFilter!);
  // Depthwise (one input and one output channel per group: MobileNet, EfficientNet, ConvNeXt): one
  // depthwise convolution instead of a convolution per channel, its input gradient a depthwise
  // convolution with the flipped filters (of dy with zeros between its rows and columns when strided).
  const depthwise = fastGrad && G > 1 && Ig === 1 && Og === 1 && !stridedDilated ? depthwiseFilters(w, O, kh, kw, b) : undefined;
  const explicitPad: ExplicitPadding = [
    [0, 0],
    [ph, ph],
    [pw, pw],
    [0, 0],
  ];

  /**
   * The FusedConv2D / FusedDepthwiseConv2D kernel itself: tf.fused.conv2d unfuses (separate bias
   * add and ReLU passes) whenever a gradient is being recorded, although nothing inside this op is recorded.
   */
  const fused = (
    kernel: 'FusedConv2D' | 'FusedDepthwiseConv2D',
    x: tf.Tensor4D,
    filter: tf.Tensor4D,
    bias: tf.Tensor1D | undefined,
    relu: FusedRelu | undefined,
  ) =>
    tf.engine().runKernel(
      kernel,
      { x, filter, bias } as unknown as tf.NamedTensorMap,
      {
        strides: [sh, sw],
        pad: explicitPad,
        dataFormat: 'NHWC',
        dilations: fwdDilation,
        dimRoundingMode: undefined,
        activation: relu ? 'relu' : 'linear',
        leakyreluAlpha: 0,
      } as unknown as tf.NamedAttrMap,
    ) as tf.Tensor4D;

  const forward = (x: tf.Tensor4D, relu: FusedRelu | undefined, groups: Group[]): tf.Tensor4D => {
    const one = (xg: tf.Tensor4D, grp: Group) => fused('FusedConv2D', xg, grp.filter, grp.bias, relu);
    if (G === 1) return one(x, groups[0]);
    const xs = splitChannels(
      x,
      groups.map(() => Ig),
    );
    return tf.concat(
      xs.map((xg, g) => one(xg, groups[g])),
      3,
    );
  };

  /**
   * A stride-1 input gradient: `conv` (a convolution with the flipped filters, the layer's
   * dilation) of `d` padded so that its output is the input's H×W, cropped where a pad would be
   * negative.
   */
  const stride1Grad = (d: tf.Tensor4D, H: number, W: number, conv: (d: tf.Tensor4D, pad: ExplicitPadding) => tf.Tensor4D): tf.Tensor4D => {
    const [, DH, DW] = d.shape;
    const ekh = dh * (kh - 1) + 1,
      ekw = dw * (kw - 1) + 1;
    const p1 = ekh - 1 - ph,
      q1 = ekw - 1 - pw;
    const top = Math.max(p1, 0),
      left = Math.max(q1, 0);
    const cropT = Math.max(-p1, 0),
      cropL = Math.max(-q1, 0);
    const bottom = Math.max(0, H + cropT - (DH + top - ekh + 1));
    const right = Math.max(0, W + cropL - (DW + left - ekw + 1));
    const z = conv(d, [
      [0, 0],
      [top, bottom],
      [left, right],
      [0, 0],
    ]);
    return z.shape[1] === H && z.shape[2] === W ? z : slice4d(z, [0, cropT, cropL, 0], [-1, H, W, -1]);
  };

  /** Input gradient of one group: dy [N, OH, OW, Og] → dx [N, H, W, Ig]. */
  const groupGrad = (dy: tf.Tensor4D, gf: tf.Tensor4D, H: number, W: number): tf.Tensor4D => {
    if (!strided) return stride1Grad(dy, H, W, (d, pad) => tf.conv2d(d, gf, 1, pad, 'NHWC', [dh, dw]));
    const [k2h, k2w] = gf.shape;
    const z = tf.conv2d(dy, gf, 1, [
      [0, 0],
      [k2h - 1, k2h - 1],
      [k2w - 1, k2w - 1],
      [0, 0],
    ]);
    const d = depthToSpace(z, sh, sw);
    const [, DH, DW] = d.shape;
    const takeH = Math.min(H, DH - ph),
      takeW = Math.min(W, DW - pw);
    let dx = slice4d(d, [0, ph, pw, 0], [-1, takeH, takeW, -1]);
    if (takeH < H || takeW < W)
      dx = tf.pad(dx, [
        [0, 0],
        [0, H - takeH],
        [0, W - takeW],
        [0, 0],
      ]);
    return dx;
  };

  /** Input gradient of the depthwise layer: dy [N, OH, OW, C] → dx [N, H, W, C]. */
  const depthwiseGrad = (dy: tf.Tensor4D, flipped: tf.Tensor4D, H: number, W: number): tf.Tensor4D =>
    stride1Grad(strided ? zeroInsert(dy, sh, sw) : dy, H, W, (d, pad) => tf.depthwiseConv2d(d, flipped, 1, pad, 'NHWC', [dh, dw]));

  const fastDepthwise = (x: tf.Tensor4D, relu: FusedRelu | undefined, dwf: DepthwiseFilters): tf.Tensor4D =>
    withGrad<tf.Tensor4D>(x, (xi, save) => {
      const value = fused('FusedDepthwiseConv2D', xi as tf.Tensor4D, dwf.filter, dwf.bias, relu);
      if (relu) save([value]);
      const [, H, W] = xi.shape;
      return {
        value,
        gradFunc: (dy, saved) => depthwiseGrad((relu ? reluGrad(dy, saved[0], relu.mode, relu.slope) : dy) as tf.Tensor4D, dwf.flipped, H, W),
      };
    });

  const fast = (x: tf.Tensor4D, relu: FusedRelu | undefined, groups: Group[]): tf.Tensor4D =>
    withGrad<tf.Tensor4D>(x, (xi, save) => {
      const value = forward(xi as tf.Tensor4D, relu, groups);
      if (relu) save([value]);
      const [, H, W] = xi.shape;
      return {
        value,
        gradFunc: (dy, saved) => {
          const g = (relu ? reluGrad(dy, saved[0], relu.mode, relu.slope) : dy) as tf.Tensor4D;
          if (G === 1) {
            // Tensors made during the forward pass are gone by now: cut the gradient filter here.
            const ch = groups[0].channels;
            const full = gradFilters[0];
            return groupGrad(g, ch ? tf.gather(full, tf.tensor1d(ch, 'int32'), 2) : full, H, W);
          }
          const gs = splitChannels(
            g,
            groups.map(() => Og),
          );
          return tf.concat(
            gs.map((gg, i) => groupGrad(gg, gradFilters[i], H, W)),
            3,
          );
        },
      };
    });

  /** Stock TensorFlow.js ops and gradients (reference path; no dilation gradient in tfjs). */
  const stock = (x: tf.Tensor4D, groups: Group[]): tf.Tensor4D => {
    const one = (xg: tf.Tensor4D, grp: Group) => {
      const y = tf.conv2d(xg, grp.filter, [sh, sw], explicitPad, 'NHWC', fwdDilation);
      return grp.bias ? tf.add<tf.Tensor4D>(y, grp.bias) : y;
    };
    if (G === 1) return one(x, groups[0]);
    return tf.concat(
      tf.split<tf.Tensor4D>(x, G, 3).map((xg, g) => one(xg, groups[g])),
      3,
    );
  };

  return {
    restrictable: G === 1,
    apply(x, relu, channels) {
      if (x.rank !== 4 || x.shape[3] !== inChannels) throw new UserError(`layer ${layer.name}: expects ${inChannels} input channels, got shape [${x.shape}]`);
      let use = groups;
      if (channels) {
        if (G !== 1) throw new Error('internal: channel restriction of a grouped convolution');
        const idx = tf.tensor1d(channels, 'int32');
        const g = groups[0];
        // The bias from the host values: tfjs-wasm's FusedConv2D rejects a gathered bias (its buffer keeps a 4-D shape).
        use = [{ filter: tf.gather(g.filter, idx, 3), bias: b && tf.tensor1d(channels.map((c) => b[c])), channels }];
      }
      if (depthwise) return fastDepthwise(x as tf.Tensor4D, relu, depthwise);
      if (fastGrad) return fast(x as tf.Tensor4D, relu, use);
      if (relu) throw new Error('internal: ReLU fusion needs the fast-gradient path');
      return stock(x as tf.Tensor4D, use);
    },
    dispose() {
      for (const g of groups) {
        g.filter.dispose();
        g.bias?.dispose();
        g.gradFilter?.dispose();
      }
      if (depthwise) tf.dispose([depthwise.filter, depthwise.flipped, ...(depthwise.bias ? [depthwise.bias] : [])]);
    },
  };
}

interface DepthwiseFilters {
  /** [kh, kw, C, 1] */
  filter: tf.Tensor4D;
  /** The filters rotated 180°, for the input gradient. */
  flipped: tf.Tensor4D;
  bias?: tf.Tensor1D;
}

/** Caffe depthwise weights [C, 1, kh, kw] → tfjs depthwise filters [kh, kw, C, 1], straight and flipped. */
function depthwiseFilters(w: Float32Array, C: number, kh: number, kw: number, b: Float32Array | undefined): DepthwiseFilters {
  const f = new Float32Array(w.length);
  const r = new Float32Array(w.length);
  for (let c = 0; c < C; c++)
    for (let y = 0; y < kh; y++)
      for (let x = 0; x < kw; x++) {
        f[(y * kw + x) * C + c] = w[(c * kh + y) * kw + x];
        r[(y * kw + x) * C + c] = w[(c * kh + (kh - 1 - y)) * kw + (kw - 1 - x)];
      }
  return { filter: tf.tensor4d(f, [kh, kw, C, 1]), flipped: tf.tensor4d(r, [kh, kw, C, 1]), bias: b ? tf.tensor1d(b) : undefined };
}

/** dy [N, OH, OW, C] with s−1 zeros between its rows and columns: [N, (OH−1)·sh + 1, (OW−1)·sw + 1, C]. */
function zeroInsert(dy: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  const [N, OH, OW, C] = dy.shape;
  // Rank-4 pads only (tfjs-wasm pads higher ranks slowly): first between columns, then between rows.
  const cols = tf.pad(tf.reshape(dy, [N * OH, OW, 1, C]), [
    [0, 0],
    [0, 0],
    [0, sw - 1],
    [0, 0],
  ]);
  const rows = tf.pad(tf.reshape(cols, [N, OH, 1, OW * sw * C]), [
    [0, 0],
    [0, 0],
    [0, sh - 1],
    [0, 0],
  ]);
  return slice4d(tf.reshape(rows, [N, OH * sh, OW * sw, C]) as tf.Tensor4D, [0, 0, 0, 0], [-1, (OH - 1) * sh + 1, (OW - 1) * sw + 1, -1]);
}
/** Inverse of space-to-depth with a (possibly non-square) block; channel (a*bw + b)*C + c. */
export function depthToSpace(z: tf.Tensor4D, bh: number, bw: number): tf.Tensor4D {
  // reshape + transpose: ~7× faster than tfjs-wasm's DepthToSpace kernel.
  const [N, H, W, C2] = z.shape;
  const C = C2 / (bh * bw);
  const t = tf.transpose(tf.reshape(z, [N, H, W, bh, bw * C]), [0, 1, 3, 2, 4]);
  return tf.reshape<tf.Rank.R4>(t, [N, H * bh, W * bw, C]);
}
