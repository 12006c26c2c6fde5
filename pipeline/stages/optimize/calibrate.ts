/**
 * Model-independent step sizes. The paper's learning rates were tuned on CaffeNet's gradient scale;
 * gradients of other models and layers differ by orders of magnitude (start-image gradient RMS:
 * GoogLeNet loss3/classifier ~2e-4, inception_4c/output ~2e-3, SqueezeNet pool10 ~1e-4). Before
 * optimising a layer we measure the RMS of the objective's input gradient on start images (mean +
 * N(0, 10)) of a few units spread over the layer, and scale every gradient of that layer by
 * `REFERENCE_GRAD_RMS / median RMS`. A preset's learning rate then means the same pixel step on
 * every model and layer. `--literal-lr` skips this (scale 1): the paper's numbers as they are.
 *
 * The measurement is deterministic (fixed units, seeds and batch), so a cached value and a fresh
 * one agree bit for bit on the same backend.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Net } from '../../engine/net/types.ts';
import { unitObjective, type ObjectiveKind } from './objectives.ts';
import { meanPlusNoise } from './param/pixel.ts';
import { jobRng } from './rng.ts';

/**
 * The gradient RMS the presets' learning rates are expressed for (pixel units, per input value).
 * Chosen from measurements (docs/optimize.md): with it, `p3` reaches above-photo activations and
 * own-class images on both GoogLeNet and SqueezeNet class units.
 */
export const REFERENCE_GRAD_RMS = 3e-3;

/** How many units of a layer are measured. */
export const CALIBRATION_UNITS = 8;

export interface Calibration {
  blob: string;
  objective: ObjectiveKind;
  units: number[];
  /** Per measured unit. */
  rms: number[];
  /** Median of the non-zero RMS values (0 when all are zero). */
  median: number;
  /** Multiplier applied to the layer's gradients. */
  scale: number;
}

/** Units measured for a layer of `count` units: evenly spread. */
export function calibrationUnits(count: number): number[] {
  const n = Math.min(CALIBRATION_UNITS, count);
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * count) / n));
}

export function median(xs: number[]): number {
  if (!xs.length) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Measures the layer's start-gradient RMS with `net` (the pre-ReLU net when `preRelu`, as the
 * render loop uses) and returns the scale for the presets' learning rates.
 */
export async function calibrate(net: Net, modelId: string, blob: string, objective: ObjectiveKind, count: number, preRelu: boolean): Promise<Calibration> {
  const units = calibrationUnits(count);
  const [h, w] = net.model.preprocess.size;
  const x = meanPlusNoise(
    units.map((u) => jobRng(modelId, blob, u, 'calibrate', 0)),
    h,
    w,
    net.model.preprocess,
  );
  const obj = unitObjective(blob, units, objective, { preRelu });
  const rmsT = tf.tidy(() => {
    const g = tf.grad((xx: tf.Tensor) => tf.sum(obj.loss(net.forward(xx as tf.Tensor4D, [blob])[blob])))(x);
    return tf.sqrt(tf.mean(tf.square(g), [1, 2, 3]));
  });
  const rms = Array.from(await rmsT.data());
  tf.dispose([x, rmsT]);
  obj.dispose();
  const m = median(rms.filter((v) => v > 0));
  return { blob, objective, units, rms, median: m, scale: m > 0 ? REFERENCE_GRAD_RMS / m : 1 };
}
