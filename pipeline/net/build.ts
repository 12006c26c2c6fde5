import * as tf from '@tensorflow/tfjs';
import type { Layer, Model } from '../graph/types.ts';
import { UserError } from '../errors.ts';
import type { GradMode, Net } from './types.ts';
import { makeConv, type FusedRelu, type ParamOp } from './conv.ts';
import { concat, eltwise, flatten, lrn, makeBatchNorm, makeFc, makeScale } from './layers.ts';
import { makePool } from './pool.ts';
import { relu } from './relu.ts';
import { neededSteps, type StepLinks } from './plan.ts';
import { isExtraLayer } from '../graph/types-extra.ts';
import { makeExtraOp } from './ops-extra.ts';
import { checkInputLayout } from './layout.ts';

export interface NetOptions {
  /**
   * Input gradients of convolutions and fully connected layers through the fast path (forward
   * convolutions, fused ReLU). Default true; false runs stock tfjs ops and gradients (reference).
   */
  fastGrad?: boolean;
}

interface Step extends StepLinks {
  name: string;
  run(xs: tf.Tensor[], mode: GradMode): tf.Tensor[];
  dispose?(): void;
}

const isFusableRelu = (l: Layer | undefined, top: string): l is Extract<Layer, { kind: 'relu' }> =>
  l?.kind === 'relu' && l.negativeSlope === 0 && l.bottoms[0] === top && l.tops[0] === top;

/**
 * Builds the TensorFlow.js executor of a model's graph on the current backend: parameters become
 * tensors once (conv filters HWIO, fc rows permuted to NHWC flatten order, gradient filters).
 */
export function createNet(model: Model, opts: NetOptions = {}): Net {
  const fastGrad = opts.fastGrad ?? true;
  const { graph } = model;
  if (!graph.weights) throw new UserError(`model ${model.source} has no weights (a .caffemodel is needed to run it)`);
  const shapes = new Map(graph.blobs.map((b) => [b.name, b.shape]));
  const shapeOf = (blob: string, layer: string): number[] => {
    const s = shapes.get(blob);
    if (!s) throw new UserError(`layer ${layer}: unknown bottom blob "${blob}"`);
    return s;
  };
  const steps: Step[] = [];
  const layers = graph.layers;
  try {
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i];
      const params = graph.weights.get(l.name);
      const one = (f: (x: tf.Tensor, mode: GradMode) => tf.Tensor, dispose?: () => void): Step => ({
        name: l.name, bottoms: l.bottoms.slice(0, 1), tops: l.tops.slice(0, 1), run: (xs, mode) => [f(xs[0], mode)], dispose,
      });
      const withRelu = (op: ParamOp): Step => {
        const next = layers[i + 1];
        if (fastGrad && l.tops.length === 1 && isFusableRelu(next, l.tops[0])) {
          i++;
          return { name: `${l.name}+${next.name}`, bottoms: [l.bottoms[0]], tops: [l.tops[0]], run: (xs, mode) => [op.apply(xs[0], { slope: 0, mode } satisfies FusedRelu)], dispose: () => op.dispose() };
        }
        return one((x) => op.apply(x), () => op.dispose());
      };
      switch (l.kind) {
        case 'input':
          continue;
        case 'conv':
          steps.push(withRelu(makeConv(l, params, shapeOf(l.bottoms[0], l.name)[0], fastGrad)));
          break;
        case 'fc':
          steps.push(withRelu(makeFc(l, params, shapeOf(l.bottoms[0], l.name), fastGrad)));
          break;
        case 'relu':
          steps.push(one((x, mode) => relu(x, l.negativeSlope, mode, !fastGrad)));
          break;
        case 'pool': {
          const p = makePool(l, shapeOf(l.bottoms[0], l.name), fastGrad);
          steps.push(one((x) => p.apply(x), () => p.dispose()));
          break;
        }
        case 'lrn':
          steps.push(one((x) => lrn(l, x, fastGrad)));
          break;
        case 'concat':
          steps.push({ name: l.name, bottoms: l.bottoms, tops: l.tops.slice(0, 1), run: (xs) => [concat(l, xs, fastGrad)] });
          break;
        case 'eltwise':
          steps.push({ name: l.name, bottoms: l.bottoms, tops: l.tops.slice(0, 1), run: (xs) => [eltwise(l, xs)] });
          break;
        case 'identity':
          steps.push({ name: l.name, bottoms: l.bottoms.slice(0, 1), tops: l.tops, run: (xs) => l.tops.map(() => xs[0]) });
          break;
        case 'softmax':
          steps.push(one((x) => tf.softmax(x)));
          break;
        case 'flatten':
          steps.push(one((x) => flatten(x)));
          break;
        case 'scale': {
          const op = makeScale(l, params);
          steps.push(one((x) => op.apply(x), () => op.dispose()));
          break;
        }
        case 'batchnorm': {
          const op = makeBatchNorm(l, params);
          steps.push(one((x) => op.apply(x), () => op.dispose()));
          break;
        }
        default: {
          if (isExtraLayer(l)) { // kinds of ONNX / TF.js models: net/ops-extra.ts
            const op = makeExtraOp(l, params, l.bottoms.map((b) => shapeOf(b, l.name)));
            steps.push({ name: l.name, bottoms: l.bottoms, tops: l.tops, run: (xs) => op.run(xs), dispose: () => op.dispose() });
            break;
          }
          throw new UserError(`layer ${(l as Layer).name}: unsupported kind ${(l as Layer).kind}`);
        }
      }
    }
  } catch (e) {
    for (const s of steps) s.dispose?.();
    throw e;
  }

  const known = new Set(graph.blobs.map((b) => b.name));
  const plans = new Map<string, Step[]>();
  const planFor = (blobs: string[]): Step[] => {
    const key = [...blobs].sort().join('\u0000');
    let p = plans.get(key);
    if (!p) {
      for (const b of blobs) if (!known.has(b)) throw new UserError(`model ${model.id} has no blob "${b}"`);
      p = neededSteps(steps, blobs);
      plans.set(key, p);
    }
    return p;
  };
  const [C, H, W] = graph.input.shape;

  return {
    model,
    forward(input, blobs, fopts) {
      const mode = fopts?.gradMode ?? 'backprop';
      const s = input.shape;
      if (graph.input.shape.length !== 3) checkInputLayout(input, graph.input.shape, model.id); // non-image test graphs
      else if (input.rank !== 4 || s[1] !== H || s[2] !== W || s[3] !== C) {
        throw new UserError(`model ${model.id}: input must be N×${H}×${W}×${C} (NHWC), got [${s}]`);
      }
      const plan = planFor(blobs);
      return tf.tidy(() => {
        const env = new Map<string, tf.Tensor>([[graph.input.blob, input]]);
        for (const step of plan) {
          const outs = step.run(step.bottoms.map((b) => env.get(b)!), mode);
          step.tops.forEach((t, i) => env.set(t, outs[i]));
        }
        const out: Record<string, tf.Tensor> = {};
        const given = new Set<tf.Tensor>([input]);
        for (const b of blobs) {
          const t = env.get(b)!;
          out[b] = given.has(t) ? tf.clone(t) : t;
          given.add(t);
        }
        return out;
      });
    },
    dispose() {
      for (const s of steps) s.dispose?.();
      plans.clear();
    },
  };
}
