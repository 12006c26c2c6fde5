/**
 * The one optimisation loop: objective × parameterisation × preset, for a batch of images (one
 * per (unit, seed) job). Each step: render the input, forward to the blob, gradient of each
 * image's unit activation w.r.t. the parameters, record, update. The last step only evaluates
 * (as the toolbox does), so `steps` counts forward passes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../../graph/types.ts';
import type { Net } from '../../engine/net/types.ts';
import { unitObjective, type ObjectiveKind } from './objectives.ts';
import { FourierParam } from './param/fourier.ts';
import { PixelParam } from './param/pixel.ts';
import type { Parameterization } from './param/types.ts';
import type { OptimizePreset } from './presets.ts';
import type { Rng } from './rng.ts';

export interface RenderRequest {
  blob: string;
  objective: ObjectiveKind;
  preset: OptimizePreset;
  /** Overrides the preset's step count. */
  steps?: number;
  /** Gradient multiplier for pixel presets (calibrate.ts); 1 = the paper's literal step sizes. */
  gradScale: number;
  /** One image per entry: its unit and its own random stream. */
  images: { unit: number; rng: Rng }[];
  /** `net` computes the blob's pre-activations (pre-relu.ts); the activation is their ReLU. */
  preRelu?: boolean;
  /** Called after every step with the step index (for progress). */
  onStep?: (step: number) => void;
  /** Called with each recorded evaluation: the step and the activation per image (traces, tests). */
  onValues?: (step: number, values: Float32Array) => void;
}

export interface RenderedImage {
  unit: number;
  /** The kept (best) image as network input, H×W×3 row-major. */
  input: Float32Array;
  start_activation: number;
  best_activation: number;
  final_activation: number;
  argmax_step: number | null;
  steps: number;
}

export function makeParam(preset: OptimizePreset, rngs: Rng[], model: Model, gradScale: number): Parameterization {
  const size = model.preprocess.size;
  if (preset.family === 'pixel') return new PixelParam(preset, rngs, size, model.preprocess, gradScale);
  return new FourierParam(preset, rngs, size, model.preprocess);
}

export async function render(net: Net, req: RenderRequest): Promise<RenderedImage[]> {
  const { preset, blob } = req;
  const steps = req.steps ?? preset.steps;
  if (steps < 1) throw new Error('render: steps must be ≥ 1');
  const n = req.images.length;
  const obj = unitObjective(
    blob,
    req.images.map((i) => i.unit),
    req.objective,
    { preRelu: req.preRelu },
  );
  const param = makeParam(
    preset,
    req.images.map((i) => i.rng),
    net.model,
    req.gradScale,
  );
  const evalEvery = preset.family === 'fourier' ? preset.evalEvery : 1;

  const start = new Float64Array(n).fill(NaN);
  const best = new Float64Array(n).fill(-Infinity);
  const final = new Float64Array(n).fill(NaN);
  const argmaxStep: (number | null)[] = new Array(n).fill(null);
  let bestImg: tf.Tensor4D | null = null;

  /** Records activations of `img` (the clean image) and keeps it where it beats the best so far. */
  const track = async (step: number, vals: tf.Tensor1D, flags: boolean[], img: tf.Tensor4D) => {
    const v = (await vals.data()) as Float32Array;
    req.onValues?.(step, v);
    const better: boolean[] = [];
    for (let i = 0; i < n; i++) {
      if (Number.isNaN(start[i])) start[i] = v[i];
      final[i] = v[i];
      if (flags[i] && argmaxStep[i] === null) argmaxStep[i] = step;
      better.push(v[i] > best[i]);
      if (v[i] > best[i]) best[i] = v[i];
    }
    if (!bestImg) bestImg = img.clone();
    else if (better.some(Boolean)) {
      // per-image copy (a broadcast where() is slow on wasm)
      const prev: tf.Tensor4D = bestImg;
      bestImg = tf.tidy(() => {
        const a = tf.split(img, n, 0);
        const b = tf.split(prev, n, 0);
        return tf.concat(
          a.map((t, i) => (better[i] ? t : b[i])),
          0,
        ) as tf.Tensor4D;
      });
      prev.dispose();
    }
  };

  /** Forward-only evaluation of the clean image. */
  const evaluateClean = async (step: number) => {
    const img = param.clean();
    const out = net.forward(img, [blob])[blob];
    const vals = obj.values(out);
    const flags = await obj.isArgmax(out);
    await track(step, vals, flags, img);
    tf.dispose([img, out, vals]);
  };

  try {
    for (let step = 0; step < steps; step++) {
      const kept: { vals?: tf.Tensor1D; out?: tf.Tensor; input?: tf.Tensor4D } = {};
      const grad = tf.tidy(() =>
        tf.grad((p: tf.Tensor) => {
          const input = param.render(p, step);
          const out = net.forward(input, [blob])[blob];
          kept.vals = tf.keep(obj.values(out));
          kept.out = tf.keep(out);
          if (param.renderIsClean) kept.input = tf.keep(input.clone());
          return tf.sum(obj.loss(out));
        })(param.params()),
      );
      if (param.renderIsClean) {
        const flags = await obj.isArgmax(kept.out!);
        await track(step, kept.vals!, flags, kept.input!);
      }
      tf.dispose([kept.vals!, kept.out!, ...(kept.input ? [kept.input] : [])]);
      if (!param.renderIsClean && (step % evalEvery === 0 || step === steps - 1)) await evaluateClean(step);
      if (step < steps - 1) param.update(grad, step);
      grad.dispose();
      req.onStep?.(step);
    }
    const imgs = await bestImg!.data();
    const per = imgs.length / n;
    return req.images.map((im, i) => ({
      unit: im.unit,
      input: Float32Array.from(imgs.subarray(i * per, (i + 1) * per)),
      start_activation: start[i],
      best_activation: best[i],
      final_activation: final[i],
      argmax_step: argmaxStep[i],
      steps,
    }));
  } finally {
    param.dispose();
    (bestImg as tf.Tensor | null)?.dispose();
  }
}
