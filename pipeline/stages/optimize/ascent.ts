/**
 * The one optimisation loop: objective × parameterisation × preset, for a batch of images (one
 * per (unit, seed) job). Each step: render the input, forward to the blob, gradient of each
 * image's unit activation w.r.t. the parameters, record, update. The last step only evaluates
 * (as the toolbox does), so `steps` counts forward passes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Model } from '../../graph/types.ts';
import type { Net } from '../../engine/net/types.ts';
import { BestTracker } from './best-tracker.ts';
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

  const tracker = new BestTracker(n);

  /** Records the activations of `img` (the clean image); reads them back only for onValues. */
  const track = async (step: number, out: tf.Tensor, vals: tf.Tensor1D, img: tf.Tensor4D) => {
    if (req.onValues) req.onValues(step, (await vals.data()) as Float32Array);
    const hits = obj.argmaxHits(out);
    tracker.record(step, vals, hits, img);
    hits.dispose();
  };

  /** Forward-only evaluation of the clean image. */
  const evaluateClean = async (step: number) => {
    const img = param.clean();
    const out = net.forward(img, [blob])[blob];
    const vals = obj.values(out);
    await track(step, out, vals, img);
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
      if (param.renderIsClean) await track(step, kept.out!, kept.vals!, kept.input!);
      tf.dispose([kept.vals!, kept.out!, ...(kept.input ? [kept.input] : [])]);
      if (!param.renderIsClean && (step % evalEvery === 0 || step === steps - 1)) await evaluateClean(step);
      if (step < steps - 1) param.update(grad, step);
      grad.dispose();
      req.onStep?.(step);
    }
    const r = await tracker.read();
    const per = r.images.length / n;
    return req.images.map((im, i) => ({
      unit: im.unit,
      input: r.images.slice(i * per, (i + 1) * per),
      start_activation: r.start[i],
      best_activation: r.best[i],
      final_activation: r.final[i],
      argmax_step: r.argmaxStep[i],
      steps,
    }));
  } finally {
    param.dispose();
    obj.dispose();
    tracker.dispose();
  }
}
