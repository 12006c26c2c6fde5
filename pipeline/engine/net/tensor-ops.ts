import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/errors.ts';
import type {
  ActivationLayer,
  BinaryLayer,
  TensorLayer,
  InstanceNormLayer,
  LayerNormLayer,
  MatMulLayer,
  ReduceLayer,
  ReshapeLayer,
} from '../../graph/tensor-layers.ts';
import type { ParamBlob } from '../../graph/types.ts';
import { fromNchw, nchwToLayout, tfAxis, toNchw } from './layout.ts';
import { makeConvTranspose, makePad, makePooling, type TensorOp } from './ops-window.ts';
import { makeResize } from './resize.ts';
import { withGrad } from './custom.ts';
import { matMulBT } from './layers.ts';
import type { GradMode } from './types.ts';

/**
 * TensorFlow.js execution of the layer kinds of graph/types-extra.ts, in the channels-last layout
 * of net/layout.ts. Every op is built from differentiable tfjs ops. `inShapes` are the per-image
 * shapes of the layer's bottoms.
 */

export type { TensorOp };

/** A constant parameter [1, …shape] in NCHW order → a channels-last tensor. */
function constTensor(p: ParamBlob | undefined, layer: string): tf.Tensor {
  if (!p) throw new UserError(`layer ${layer}: missing constant`);
  const { data, shape } = nchwToLayout(p.data, p.shape);
  return tf.tensor(data, shape);
}

function activation(l: ActivationLayer, x: tf.Tensor): tf.Tensor {
  // max(x, 0) + α(e^min(x, 0) − 1): differentiable everywhere (tf.where's condition has no gradient).
  const elu = (alpha: number) => tf.add(tf.relu(x), tf.mul(tf.sub(tf.exp(tf.minimum(x, 0)), 1), alpha));
  switch (l.fn) {
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'tanh':
      return tf.tanh(x);
    case 'elu':
      return elu(l.alpha);
    case 'selu':
      return tf.mul(elu(l.alpha), l.gamma);
    case 'softplus':
      return tf.softplus(x);
    case 'softsign':
      return tf.div(x, tf.add(tf.abs(x), 1));
    case 'hardsigmoid':
      return tf.clipByValue(tf.add(tf.mul(x, l.alpha), l.beta), 0, 1);
    case 'exp':
      return tf.exp(x);
    case 'log':
      return tf.log(x);
    case 'abs':
      return tf.abs(x);
    case 'neg':
      return tf.neg(x);
    case 'sqrt':
      return tf.sqrt(x);
    case 'reciprocal':
      return tf.reciprocal(x);
    case 'floor':
      return tf.floor(x);
    case 'ceil':
      return tf.ceil(x);
    case 'erf':
      return tf.erf(x);
    case 'gelu':
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1));
    case 'gelutanh': {
      const inner = tf.mul(tf.add(x, tf.mul(tf.pow(x, 3), 0.044715)), Math.sqrt(2 / Math.PI));
      return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
    }
    case 'hardswish':
      return tf.mul(x, tf.clipByValue(tf.add(tf.div(x, 6), 0.5), 0, 1));
    case 'swish':
      return tf.mul(x, tf.sigmoid(tf.mul(x, l.alpha)));
  }
}

/**
 * Activations that rectify like a ReLU (output > 0 exactly where the input is, ≈ 0 or bounded
 * below elsewhere): deconv and guided backprop apply the ReLU rules at them — deconv: max(dy, 0);
 * guided: max(dy, 0) where x > 0. Other layers pass their ordinary gradient in every mode.
 */
export const RECTIFIERS: ReadonlySet<ActivationLayer['fn']> = new Set(['gelu', 'gelutanh', 'hardswish', 'swish', 'elu', 'selu', 'softplus']);

function rectifier(l: ActivationLayer, x: tf.Tensor, mode: Exclude<GradMode, 'backprop'>): tf.Tensor {
  return withGrad(x, (xi, save) => {
    save([xi]);
    return {
      value: activation(l, xi),
      gradFunc: (dy, [saved]) => (mode === 'deconv' ? tf.relu(dy) : tf.mul(tf.relu(dy), tf.step(saved, 0))),
    };
  });
}

function binaryFn(op: BinaryLayer['op']): (a: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  switch (op) {
    case 'add':
      return tf.add;
    case 'sub':
      return tf.sub;
    case 'mul':
      return tf.mul;
    case 'div':
      return tf.div;
    case 'pow':
      return tf.pow;
    case 'max':
      return tf.maximum;
    case 'min':
      return tf.minimum;
    case 'prelu':
      return (x, slope) => tf.add(tf.relu(x), tf.mul(tf.minimum(x, 0), slope));
  }
}

function makeBinary(l: BinaryLayer, params: ParamBlob[] | undefined): TensorOp {
  const f = binaryFn(l.op);
  if (l.constant === 'none') return { run: ([a, b]) => [f(a, b)], dispose() {} };
  const c = constTensor(params?.[0], l.name);
  return {
    run: ([x]) => [l.constant === 'second' ? f(x, c) : f(c, x)],
    dispose: () => c.dispose(),
  };
}

function makeMatMul(l: MatMulLayer, params: ParamBlob[] | undefined): TensorOp {
  const p = params?.[0];
  if (!p) throw new UserError(`layer ${l.name}: no weights`);
  const ws = l.weightShape;
  const r = ws.length;
  const [K, M] = ws.slice(-2);
  const flatW = ws.slice(0, r - 2).every((d) => d === 1);
  const W = flatW ? tf.tensor2d(p.data, [K, M]) : tf.tensor(p.data, [1, ...ws]);
  const bias = l.biasTerm ? params?.[1] : undefined;
  if (l.biasTerm && bias?.data.length !== M) throw new UserError(`layer ${l.name}: bias must have ${M} values`);
  const b = bias ? tf.tensor1d(bias.data) : undefined;
  return {
    run([xin]) {
      const x = toNchw(xin);
      let y: tf.Tensor;
      if (flatW) {
        const lead = x.shape.slice(0, -1);
        const W2 = W as tf.Tensor2D;
        // The input gradient as matMulBT: tfjs's own (a transposed product) is a slow loop on wasm.
        const product = withGrad<tf.Tensor2D>(tf.reshape(x, [-1, K]), (xi) => ({
          value: tf.matMul(xi as tf.Tensor2D, W2),
          gradFunc: (dy) => matMulBT(dy, W2),
        }));
        y = tf.reshape(product, [...lead, M]);
      } else {
        const outBatch = x.shape.slice(0, -2).map((d, i) => Math.max(d, W.shape[i]));
        const xb = tf.broadcastTo(x, [...outBatch, ...x.shape.slice(-2)]);
        const wb = tf.broadcastTo(W, [...outBatch, K, M]);
        y = tf.matMul(xb, wb);
      }
      if (b) y = tf.add(y, b);
      return [fromNchw(y)];
    },
    dispose() {
      W.dispose();
      b?.dispose();
    },
  };
}

function reshape(l: ReshapeLayer, xin: tf.Tensor): tf.Tensor {
  let x = toNchw(xin);
  const n = x.shape[0];
  if (l.pre) x = tf.transpose(x, [0, ...l.pre.map((p) => p + 1)]);
  x = tf.reshape(x, [n, ...l.shape]);
  if (l.post) x = tf.transpose(x, [0, ...l.post.map((p) => p + 1)]);
  return fromNchw(x);
}

function reduce(l: ReduceLayer, xin: tf.Tensor, rank: number): tf.Tensor {
  const x = toNchw(xin);
  const axes = l.axes.map((a) => (a < 0 ? a + rank : a) + 1);
  let y: tf.Tensor;
  switch (l.op) {
    case 'mean':
      y = tf.mean(x, axes, l.keepDims);
      break;
    case 'max':
      y = tf.max(x, axes, l.keepDims);
      break;
    case 'min':
      y = tf.min(x, axes, l.keepDims);
      break;
    case 'sum':
      y = tf.sum(x, axes, l.keepDims);
      break;
    case 'l2':
      y = tf.sqrt(tf.sum(tf.square(x), axes, l.keepDims));
      break;
  }
  return fromNchw(y);
}

function makeInstanceNorm(l: InstanceNormLayer, params: ParamBlob[] | undefined): TensorOp {
  if (!params || params.length < 2) throw new UserError(`layer ${l.name}: instance normalisation needs scale and bias`);
  const scale = tf.tensor1d(params[0].data);
  const bias = tf.tensor1d(params[1].data);
  return {
    run([x]) {
      const axes = Array.from({ length: x.rank - 2 }, (_, i) => i + 1);
      const { mean, variance } = tf.moments(x, axes, true);
      return [tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, l.eps))), scale), bias)];
    },
    dispose() {
      scale.dispose();
      bias.dispose();
    },
  };
}

function makeLayerNorm(l: LayerNormLayer, params: ParamBlob[] | undefined, rank: number): TensorOp {
  const normShape = params?.[0]?.shape;
  if (!normShape) throw new UserError(`layer ${l.name}: layer normalisation needs a scale`);
  const scale = tf.tensor(params[0].data, normShape);
  const bias = l.biasTerm && params[1] ? tf.tensor(params[1].data, normShape) : undefined;
  const axes = l.axes.map((a) => (a < 0 ? a + rank : a) + 1);
  return {
    run([xin]) {
      const x = toNchw(xin);
      const { mean, variance } = tf.moments(x, axes, true);
      const y = tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, l.eps))), scale);
      return [fromNchw(bias ? tf.add(y, bias) : y)];
    },
    dispose() {
      scale.dispose();
      bias?.dispose();
    },
  };
}

const pure = (f: (xs: tf.Tensor[]) => tf.Tensor): TensorOp => ({ run: (xs) => [f(xs)], dispose() {} });

/** Builds the executor of one extra-kind layer. */
export function makeTensorOp(l: TensorLayer, params: ParamBlob[] | undefined, inShapes: number[][]): TensorOp {
  const rank = inShapes[0]?.length ?? 0;
  switch (l.kind) {
    case 'pad':
      return makePad(l, rank);
    case 'pooling':
      return makePooling(l);
    case 'convtranspose':
      return makeConvTranspose(l, params, inShapes[0][0]);
    case 'activation':
      return { run: ([x], mode) => [RECTIFIERS.has(l.fn) && mode && mode !== 'backprop' ? rectifier(l, x, mode) : activation(l, x)], dispose() {} };
    case 'clip':
      return pure(([x]) => tf.minimum(tf.maximum(x, l.min), l.max));
    case 'binary':
      return makeBinary(l, params);
    case 'matmul':
      return makeMatMul(l, params);
    case 'reshape':
      return pure(([x]) => reshape(l, x));
    case 'softmaxnd': {
      const axes = l.axes.map((a) => tfAxis(a, rank));
      return pure(([x]) => {
        const y = tf.sub(x, tf.logSumExp(x, axes, true));
        return l.log ? y : tf.exp(y);
      });
    }
    case 'concatnd': {
      const axis = tfAxis(l.axis, rank);
      return pure((xs) => (xs.length === 1 ? xs[0] : tf.concat(xs, axis)));
    }
    case 'const': {
      const c = constTensor(params?.[0], l.name);
      return { run: ([ref]) => [tf.broadcastTo(c, [ref.shape[0], ...c.shape.slice(1)])], dispose: () => c.dispose() };
    }
    case 'reduce':
      return pure(([x]) => reduce(l, x, rank));
    case 'instancenorm':
      return makeInstanceNorm(l, params);
    case 'layernorm':
      return makeLayerNorm(l, params, rank);
    case 'tokengrid': {
      const [gh, gw] = l.grid;
      return pure(([xin]) => {
        // [N, T, C] in NCHW order (tokens on axis 0) or [N, C, T]; the grid tokens as NHWC [N, gh, gw, C].
        let x = toNchw(xin);
        if (l.axis === 1) x = tf.transpose(x, [0, 2, 1]);
        const c = x.shape[2]!;
        return tf.reshape(tf.slice(x, [0, l.first, 0], [-1, gh * gw, -1]), [-1, gh, gw, c]);
      });
    }
    case 'batchmatmul':
      return pure(([a, b]) => {
        const x = toNchw(a),
          y = toNchw(b);
        const r = x.rank;
        const lead = x.shape.slice(0, r - 2).map((d, i) => Math.max(d, y.shape[i]));
        const xb = tf.broadcastTo(x, [...lead, ...x.shape.slice(-2)]);
        const yb = tf.broadcastTo(y, [...lead, ...y.shape.slice(-2)]);
        return fromNchw(tf.matMul(xb, yb));
      });
    case 'resize':
      return makeResize(l, inShapes[0]);
  }
}
