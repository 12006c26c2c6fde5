import * as tf from '@tensorflow/tfjs-core';
import type { BatchNormLayer, ConcatLayer, EltwiseLayer, FcLayer, LrnLayer, ParamBlob, ScaleLayer } from '../../graph/types.ts';
import { UserError } from '../../core/errors.ts';
import type { FusedRelu, ParamOp } from './conv.ts';
import { reluGrad } from './relu.ts';
import { withGrad, withGradN } from './custom.ts';
import { hasLoopKernels, hasLrnGrad, lrnLoop, lrnOwnGrad, slice4d } from './kernels.ts';
import { fcWeights } from './weights.ts';

/**
 * Caffe InnerProduct. The input is flattened in NHWC order; the weight rows were permuted once so
 * that this equals Caffe's C,H,W flatten. `bottomShape` is the bottom blob's Caffe shape. Weights
 * over `maxBytes` (WebGPU's storage-buffer binding limit, 128 MiB on many GPUs: CaffeNet's fc6 is
 * 144 MiB) are kept as column blocks, each multiplied on its own.
 */
export function makeFc(layer: FcLayer, params: ParamBlob[] | undefined, bottomShape: number[], fastGrad: boolean, maxBytes = Infinity): ParamOp {
  if (!params || params.length < 1) throw new UserError(`layer ${layer.name}: no weights`);
  const O = layer.numOutput;
  const [c, h, w] = bottomShape.length === 3 ? bottomShape : [bottomShape.reduce((a, b) => a * b, 1), 1, 1];
  const inSize = c * h * w;
  if (params[0].data.length !== O * inSize) throw new UserError(`layer ${layer.name}: weights have ${params[0].data.length} values, expected ${O}×${inSize}`);
  const b = layer.biasTerm ? params[1]?.data : undefined;
  if (layer.biasTerm && (!b || b.length !== O)) throw new UserError(`layer ${layer.name}: bias must have ${O} values`);
  const host = fcWeights(params[0].data, O, c, h, w); // [inSize, O]
  const per = Math.max(1, Math.min(O, Math.floor(maxBytes / (4 * inSize))));
  const blocks: { W: tf.Tensor2D; bias?: tf.Tensor1D; from: number; size: number }[] = [];
  for (let from = 0; from < O; from += per) {
    const size = Math.min(per, O - from);
    const data = new Float32Array(inSize * size);
    for (let i = 0; i < inSize; i++) data.set(host.subarray(i * O + from, i * O + from + size), i * size);
    blocks.push({ W: tf.tensor2d(data, [inSize, size]), bias: b && tf.tensor1d(b.subarray(from, from + size)), from, size });
  }

  const flat = (x: tf.Tensor): tf.Tensor2D => {
    const n = x.shape[0];
    if (x.size / n !== inSize) throw new UserError(`layer ${layer.name}: expects ${inSize} inputs per image, got shape [${x.shape}]`);
    return tf.reshape(x, [n, inSize]);
  };
  /** The weight columns of `channels` (in that order), or every block when none. */
  const weights = (channels?: number[]): { W: tf.Tensor2D; bias?: tf.Tensor1D }[] => {
    if (!channels) return blocks;
    const parts = blocks.map((bl) => channels.filter((ch) => ch >= bl.from && ch < bl.from + bl.size));
    const cols = blocks.flatMap((bl, k) =>
      parts[k].length
        ? [
            tf.gather(
              bl.W,
              tf.tensor1d(
                parts[k].map((ch) => ch - bl.from),
                'int32',
              ),
              1,
            ),
          ]
        : [],
    );
    let W = cols.length === 1 ? cols[0] : tf.concat(cols, 1);
    // Back to the order asked for (the blocks' gather grouped the channels by block).
    const order = parts.flat();
    if (order.some((ch, i) => ch !== channels[i]))
      W = tf.gather(
        W,
        tf.tensor1d(
          channels.map((ch) => order.indexOf(ch)),
          'int32',
        ),
        1,
      );
    return [{ W, bias: b && tf.tensor1d(channels.map((ch) => b[ch])) }]; // bias from host values: see conv.ts
  };
  // The _FusedMatMul kernel itself (3-D operands): tf.fused.matMul unfuses while a gradient is recorded.
  const matmul = (x2: tf.Tensor2D, ws: { W: tf.Tensor2D; bias?: tf.Tensor1D }[], activation: 'relu' | 'linear') => {
    const [n] = x2.shape;
    const a = tf.reshape(x2, [1, n, inSize]);
    const ys = ws.map((wb) => {
      const inputs = { a, b: tf.reshape(wb.W, [1, inSize, wb.W.shape[1]]), bias: wb.bias } as unknown as tf.NamedTensorMap;
      const attrs = { transposeA: false, transposeB: false, activation, leakyreluAlpha: 0 } as unknown as tf.NamedAttrMap;
      return tf.reshape(tf.engine().runKernel('_FusedMatMul', inputs, attrs) as tf.Tensor, [n, wb.W.shape[1]]);
    });
    return ys.length === 1 ? ys[0] : tf.concat(ys, 1);
  };
  return {
    restrictable: true,
    apply(x, relu?: FusedRelu, channels?: number[]) {
      if (!fastGrad) {
        if (relu) throw new Error('internal: ReLU fusion needs the fast-gradient path');
        const ws = weights(channels);
        const ys = ws.map((wb) => (wb.bias ? tf.add(tf.matMul(flat(x), wb.W), wb.bias) : tf.matMul(flat(x), wb.W)));
        return ys.length === 1 ? ys[0] : tf.concat(ys, 1);
      }
      return withGrad(x, (xi, save) => {
        const value = matmul(flat(xi), weights(channels), relu ? 'relu' : 'linear');
        if (relu) save([value]);
        const shape = xi.shape;
        return {
          value,
          gradFunc: (dy, saved) => {
            const g = (relu ? reluGrad(dy, saved[0], relu.mode, relu.slope) : dy) as tf.Tensor2D;
            // Tensors made during the forward pass are gone by now: cut the weights again.
            const ws = weights(channels);
            let at = 0;
            const terms = ws.map((wb) => {
              const n = wb.W.shape[1];
              const gk = ws.length === 1 ? g : tf.slice(g, [0, at], [-1, n]);
              at += n;
              return matMulBT(gk, wb.W);
            });
            return tf.reshape(terms.length === 1 ? terms[0] : tf.addN(terms), shape);
          },
        };
      });
    },
    dispose() {
      for (const bl of blocks) {
        bl.W.dispose();
        bl.bias?.dispose();
      }
    },
  };
}

/**
 * a · bᵀ for 2-D a [n, o] and b [i, o], as (b · aᵀ)ᵀ: tfjs-wasm multiplies untransposed operands
 * with XNNPACK and transposed ones with a plain loop, ~10× slower (CaffeNet's fc6 gradient at batch
 * 8: 323 → 26 ms), and the transposes of the small operands cost little.
 */
export function matMulBT(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return tf.transpose(tf.matMul(b, tf.transpose(a) as tf.Tensor2D)) as tf.Tensor2D;
}

/** Caffe LRN across channels: x / (k + alpha/n · Σ_window x²)^beta, window n centred on the channel. */
export function lrn(layer: LrnLayer, x: tf.Tensor, fastGrad: boolean): tf.Tensor {
  if (x.rank !== 4) throw new UserError(`layer ${layer.name}: LRN needs a C×H×W input`);
  if (layer.localSize % 2 !== 1) throw new UserError(`layer ${layer.name}: LRN local_size must be odd, got ${layer.localSize}`);
  if (fastGrad && hasLoopKernels() && x.dtype === 'float32')
    return lrnLoop(x as tf.Tensor4D, { size: layer.localSize, alpha: layer.alpha, beta: layer.beta, k: layer.k });
  if (fastGrad && hasLrnGrad() && x.dtype === 'float32')
    return lrnOwnGrad(x as tf.Tensor4D, { size: layer.localSize, alpha: layer.alpha, beta: layer.beta, k: layer.k });
  return tf.localResponseNormalization(x as tf.Tensor4D, (layer.localSize - 1) / 2, layer.k, layer.alpha / layer.localSize, layer.beta);
}

/** Caffe axis → NHWC axis for a tensor of the given rank (Caffe: N, C, H, W). */
export function nhwcAxis(caffeAxis: number, rank: number): number {
  const a = caffeAxis < 0 ? caffeAxis + rank : caffeAxis;
  if (rank !== 4) return a;
  return [0, 3, 1, 2][a];
}

/** Caffe Concat; on NHWC channels its gradient is cut with the fast slice kernel. */
export function concat(layer: ConcatLayer, xs: tf.Tensor[], fastGrad: boolean): tf.Tensor {
  if (xs.length === 1) return xs[0];
  const axis = nhwcAxis(layer.axis, xs[0].rank);
  if (!fastGrad || xs[0].rank !== 4 || axis !== 3) return tf.concat(xs, axis);
  const sizes = xs.map((x) => (x.shape as number[])[3]);
  return withGradN(xs, (ins) => ({
    value: tf.concat(ins, 3),
    gradFunc: (dy) => {
      let c = 0;
      return sizes.map((s) => {
        const part = slice4d(dy as tf.Tensor4D, [0, 0, 0, c], [-1, -1, -1, s]);
        c += s;
        return part;
      });
    },
  }));
}

export function eltwise(layer: EltwiseLayer, xs: tf.Tensor[]): tf.Tensor {
  const shape = xs[0].shape.join('×');
  for (const x of xs)
    if (x.shape.join('×') !== shape) throw new UserError(`layer ${layer.name}: Eltwise inputs differ in shape (${shape} vs ${x.shape.join('×')})`);
  switch (layer.op) {
    case 'sum': {
      const c = layer.coeffs.length ? layer.coeffs : xs.map(() => 1);
      if (c.length !== xs.length) throw new UserError(`layer ${layer.name}: ${c.length} coefficients for ${xs.length} inputs`);
      const terms = xs.map((x, i) => (c[i] === 1 ? x : tf.mul(x, c[i])));
      return terms.length === 1 ? terms[0] : tf.addN(terms);
    }
    case 'prod':
      return xs.slice(1).reduce((a, b) => tf.mul(a, b), xs[0]);
    case 'max':
      return xs.slice(1).reduce((a, b) => tf.maximum(a, b), xs[0]);
  }
}

/** Caffe Flatten: N×C×H×W → N×(C·H·W) in C,H,W order (from NHWC: transpose first). */
export function flatten(x: tf.Tensor): tf.Tensor {
  const n = x.shape[0];
  if (x.rank === 4 && (x.shape[1] !== 1 || x.shape[2] !== 1)) return tf.reshape(tf.transpose(x, [0, 3, 1, 2]), [n, -1]);
  return tf.reshape(x, [n, -1]);
}

/** Per-channel affine y = x·a + b (Scale, inference BatchNorm), broadcast over the channel axis. */
function affineOp(a: Float32Array, b: Float32Array | undefined, name: string): ParamOp {
  const at = tf.tensor1d(a);
  const bt = b ? tf.tensor1d(b) : undefined;
  return {
    restrictable: false,
    apply(x) {
      if (x.shape[x.rank - 1] !== a.length) throw new UserError(`layer ${name}: expects ${a.length} channels, got shape [${x.shape}]`);
      const y = tf.mul(x, at);
      return bt ? tf.add(y, bt) : y;
    },
    dispose() {
      at.dispose();
      bt?.dispose();
    },
  };
}

/** Caffe Scale as a per-channel affine y = a·x (+ b). */
export function scaleAffine(layer: ScaleLayer, params: ParamBlob[] | undefined): { a: Float32Array; b?: Float32Array } {
  if (layer.bottoms.length !== 1) throw new UserError(`layer ${layer.name}: Scale with the factor from a second bottom is not supported`);
  if (!params || params.length < 1) throw new UserError(`layer ${layer.name}: no weights`);
  const a = params[0].data;
  if (layer.biasTerm && params[1]?.data.length !== a.length) throw new UserError(`layer ${layer.name}: bias must have ${a.length} values`);
  return { a, b: layer.biasTerm ? params[1].data : undefined };
}

export function makeScale(layer: ScaleLayer, params: ParamBlob[] | undefined): ParamOp {
  const { a, b } = scaleAffine(layer, params);
  return affineOp(a, b, layer.name);
}

/** Inference BatchNorm as a per-channel affine y = a·x + b: (x − mean·f) / sqrt(var·f + eps), f = 1/blob[2][0] (0 when that is 0), as Caffe. */
export function batchNormAffine(layer: BatchNormLayer, params: ParamBlob[] | undefined): { a: Float32Array; b: Float32Array } {
  if (!params || params.length < 3) throw new UserError(`layer ${layer.name}: BatchNorm needs mean, variance and factor blobs`);
  const [mean, variance, factor] = params.map((p) => p.data);
  if (variance.length !== mean.length) throw new UserError(`layer ${layer.name}: mean and variance differ in length`);
  const f = factor[0] === 0 ? 0 : 1 / factor[0];
  const a = new Float32Array(mean.length),
    b = new Float32Array(mean.length);
  for (let i = 0; i < mean.length; i++) {
    a[i] = 1 / Math.sqrt(variance[i] * f + layer.eps);
    b[i] = -mean[i] * f * a[i];
  }
  return { a, b };
}

export function makeBatchNorm(layer: BatchNormLayer, params: ParamBlob[] | undefined): ParamOp {
  const { a, b } = batchNormAffine(layer, params);
  return affineOp(a, b, layer.name);
}
