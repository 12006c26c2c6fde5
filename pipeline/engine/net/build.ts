import * as tf from '@tensorflow/tfjs-core';
import type { Layer, Model } from '../../graph/types.ts';
import { UserError } from '../../core/errors.ts';
import type { GradMode, Net } from './types.ts';
import { makeConv, type FusedRelu, type ParamOp } from './conv.ts';
import { concat, eltwise, flatten, lrn, makeBatchNorm, makeFc, makeScale } from './layers.ts';
import { makePool } from './pool.ts';
import { relu } from './relu.ts';
import { checkChannels, selectChannels } from './select.ts';
import { neededSteps, restrictedSteps, type ChannelLinks } from './plan.ts';
import { isTensorLayer } from '../../graph/tensor-layers.ts';
import { makeTensorOp } from './tensor-ops.ts';
import { checkInputLayout } from './layout.ts';

export interface NetOptions {
  /**
   * Input gradients of convolutions and fully connected layers through the fast path (forward
   * convolutions, fused ReLU). Default true; false runs stock tfjs ops and gradients (reference).
   */
  fastGrad?: boolean;
  /**
   * Largest weight tensor, in bytes; bigger fully connected weights are kept in column blocks.
   * Default: WebGPU's storage-buffer binding limit on webgpu, else unlimited.
   */
  maxWeightBytes?: number;
}

/** WebGPU binds at most this many bytes of one buffer (128 MiB on many GPUs); unlimited elsewhere. */
export function weightBytesLimit(): number {
  if (tf.getBackend() !== 'webgpu') return Infinity;
  const dev = (tf.backend() as { device?: { limits?: { maxStorageBufferBindingSize?: number } } }).device;
  return dev?.limits?.maxStorageBufferBindingSize ?? 128 * 2 ** 20;
}

interface Step extends ChannelLinks {
  name: string;
  /** `channels`: output channels to compute (restrictable steps only). */
  run(xs: tf.Tensor[], mode: GradMode, channels?: number[]): tf.Tensor[];
  dispose?(): void;
}

interface Plan {
  steps: Step[];
  restricted: Map<Step, string>;
}

const isFusableRelu = (l: Layer | undefined, top: string): l is Extract<Layer, { kind: 'relu' }> =>
  l?.kind === 'relu' && l.negativeSlope === 0 && l.bottoms[0] === top && l.tops[0] === top;

/**
 * Builds the TensorFlow.js executor of a model's graph on the current backend: parameters become
 * tensors once (conv filters HWIO, fc rows permuted to NHWC flatten order, gradient filters).
 */
export function createNet(model: Model, opts: NetOptions = {}): Net {
  const fastGrad = opts.fastGrad ?? true;
  const maxWeightBytes = opts.maxWeightBytes ?? weightBytesLimit();
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
      const one = (f: (x: tf.Tensor, mode: GradMode) => tf.Tensor, dispose?: () => void, channelwise = false): Step => ({
        name: l.name,
        bottoms: l.bottoms.slice(0, 1),
        tops: l.tops.slice(0, 1),
        run: (xs, mode) => [f(xs[0], mode)],
        dispose,
        channelwise,
      });
      const withRelu = (op: ParamOp): Step => {
        const next = layers[i + 1];
        const fuse = fastGrad && l.tops.length === 1 && isFusableRelu(next, l.tops[0]);
        if (fuse) i++;
        const relu: FusedRelu | undefined = fuse ? { slope: 0, mode: 'backprop' } : undefined;
        return {
          name: fuse ? `${l.name}+${next!.name}` : l.name,
          bottoms: [l.bottoms[0]],
          tops: [l.tops[0]],
          restrictable: op.restrictable,
          run: (xs, mode, channels) => [op.apply(xs[0], relu && { ...relu, mode }, channels)],
          dispose: () => op.dispose(),
        };
      };
      switch (l.kind) {
        case 'input':
          continue;
        case 'conv':
          steps.push(withRelu(makeConv(l, params, shapeOf(l.bottoms[0], l.name)[0], fastGrad)));
          break;
        case 'fc':
          steps.push(withRelu(makeFc(l, params, shapeOf(l.bottoms[0], l.name), fastGrad, maxWeightBytes)));
          break;
        case 'relu':
          steps.push(one((x, mode) => relu(x, l.negativeSlope, mode, !fastGrad), undefined, true));
          break;
        case 'pool': {
          const p = makePool(l, shapeOf(l.bottoms[0], l.name), fastGrad);
          steps.push(
            one(
              (x) => p.apply(x),
              () => p.dispose(),
              true,
            ),
          );
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
          steps.push({ name: l.name, bottoms: l.bottoms.slice(0, 1), tops: l.tops, run: (xs) => l.tops.map(() => xs[0]), channelwise: true });
          break;
        case 'softmax':
          steps.push(one((x) => tf.softmax(x)));
          break;
        case 'flatten':
          steps.push(one((x) => flatten(x)));
          break;
        case 'scale': {
          const op = makeScale(l, params);
          steps.push(
            one(
              (x) => op.apply(x),
              () => op.dispose(),
            ),
          );
          break;
        }
        case 'batchnorm': {
          const op = makeBatchNorm(l, params);
          steps.push(
            one(
              (x) => op.apply(x),
              () => op.dispose(),
            ),
          );
          break;
        }
        default: {
          if (isTensorLayer(l)) {
            // kinds of ONNX / TF.js models: net/ops-extra.ts
            const op = makeTensorOp(
              l,
              params,
              l.bottoms.map((b) => shapeOf(b, l.name)),
            );
            steps.push({ name: l.name, bottoms: l.bottoms, tops: l.tops, run: (xs, mode) => op.run(xs, mode), dispose: () => op.dispose() });
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
  const plans = new Map<string, Plan>();
  const planFor = (blobs: string[], restrict: string[]): Plan => {
    const key = [...blobs].sort().join('\u0000') + '\u0001' + [...restrict].sort().join('\u0000');
    let p = plans.get(key);
    if (!p) {
      for (const b of blobs) if (!known.has(b)) throw new UserError(`model ${model.id} has no blob "${b}"`);
      const planned = neededSteps(steps, blobs);
      p = { steps: planned, restricted: restrictedSteps(planned, blobs, restrict) };
      plans.set(key, p);
    }
    return p;
  };
  /** The step that writes each offset blob last (in-place layers write a blob more than once). */
  const offsetSteps = (planned: Step[], offsets: Record<string, tf.Tensor>, channels: Record<string, number[]>): Map<string, Step> => {
    const at = new Map<string, Step>();
    for (const b of Object.keys(offsets)) {
      if (!known.has(b)) throw new UserError(`model ${model.id} has no blob "${b}"`);
      if (channels[b]) throw new UserError(`blob "${b}": an offset and a channel subset cannot be combined`);
    }
    for (const step of planned) for (const t of step.tops) if (t in offsets) at.set(t, step);
    for (const b of Object.keys(offsets)) if (!at.has(b)) throw new UserError(`blob "${b}" is not computed on the way to the blobs asked for`);
    return at;
  };
  const [C, H, W] = graph.input.shape;

  return {
    model,
    forward(input, blobs, fopts) {
      const mode = fopts?.gradMode ?? 'backprop';
      const s = input.shape;
      if (graph.input.shape.length !== 3)
        checkInputLayout(input, graph.input.shape, model.id); // non-image test graphs
      else if (input.rank !== 4 || s[1] !== H || s[2] !== W || s[3] !== C) {
        throw new UserError(`model ${model.id}: input must be N×${H}×${W}×${C} (NHWC), got [${s}]`);
      }
      const channels = fopts?.channels ?? {};
      checkChannels(blobs, channels, (b) => shapes.get(b)?.[0] ?? 0);
      const offsets = fopts?.offsets ?? {};
      const plan = planFor(blobs, Object.keys(channels));
      const offsetAt = offsetSteps(plan.steps, offsets, channels);
      return tf.tidy(() => {
        const env = new Map<string, tf.Tensor>([[graph.input.blob, input]]);
        const cut = new Set<string>(); // blobs computed for their channel subset only
        for (const step of plan.steps) {
          const r = plan.restricted.get(step);
          const outs = step.run(
            step.bottoms.map((b) => env.get(b)!),
            mode,
            r === undefined ? undefined : channels[r],
          );
          if (r !== undefined) cut.add(r);
          step.tops.forEach((t, i) => env.set(t, offsetAt.get(t) === step ? tf.add(outs[i], offsets[t]) : outs[i]));
        }
        const out: Record<string, tf.Tensor> = {};
        const given = new Set<tf.Tensor>([input]);
        for (const b of blobs) {
          let t = env.get(b)!;
          const ch = channels[b];
          if (ch && !cut.has(b)) t = selectChannels(t, ch);
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
