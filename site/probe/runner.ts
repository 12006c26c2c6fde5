/**
 * Runs the pipeline's own executor (pipeline/engine/net/build.ts) in the browser: one forward pass to a
 * chosen blob and the class output, the deconvolution and gradient × input of one unit for the
 * current input, and Grad-CAM of a class.
 */
import type { Model } from '../../pipeline/graph/types.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import type { GradMode, Net } from '../../pipeline/engine/net/types.ts';
import { tf } from './backend.ts';
import { camBlob, gradCam, gradientTimesInput, type AttributionMap } from '../../pipeline/engine/attribution.ts';
import { classScoreBlob } from '../../pipeline/graph/classes.ts';

/** A blob's activations for one input, channels last: [H, W, C] (or [C] for fully connected blobs). */
export interface Activations {
  blob: string;
  /** Caffe shape: [C, H, W] or [C]. */
  shape: number[];
  data: Float32Array;
}

export interface Frame {
  /** Class probabilities (the net's last blob). */
  output: Float32Array;
  acts: Activations;
  ms: number;
}

export const channels = (a: Activations) => a.shape[0];
export const spatial = (a: Activations): [number, number] => (a.shape.length === 3 ? [a.shape[1], a.shape[2]] : [1, 1]);

/** One channel's map, row-major H×W (Caffe's layout of that channel). */
export function channelMap(a: Activations, c: number): Float32Array {
  const C = channels(a);
  const [h, w] = spatial(a);
  const out = new Float32Array(h * w);
  for (let i = 0; i < h * w; i++) out[i] = a.data[i * C + c];
  return out;
}

export class Runner {
  readonly net: Net;
  readonly outputBlob: string;
  readonly size: [number, number];

  constructor(readonly model: Model) {
    this.net = createNet(model);
    this.outputBlob = model.graph.blobs[model.graph.blobs.length - 1].name;
    this.size = model.preprocess.size;
    this.scoreBlob = classScoreBlob(model);
    this.camAt = camBlob(model);
  }
  /** What Grad-CAM differentiates (the class scores before the softmax) and where it looks. */
  readonly scoreBlob: string;
  readonly camAt: string | undefined;

  private shape(blob: string): number[] {
    const b = this.model.graph.blobs.find((x) => x.name === blob);
    if (!b) throw new Error(`no blob "${blob}" in the network`);
    return b.shape;
  }

  private inputTensor(input: Float32Array): tf.Tensor4D {
    const [h, w] = this.size;
    return tf.tensor4d(input, [1, h, w, 3]);
  }

  /** Forward pass to `blob` and the output, values read back. */
  async run(input: Float32Array, blob: string): Promise<Frame> {
    const t0 = performance.now();
    const x = this.inputTensor(input);
    const blobs = blob === this.outputBlob ? [blob] : [blob, this.outputBlob];
    const outs = this.net.forward(x, blobs);
    try {
      const [acts, output] = await Promise.all([outs[blob].data(), outs[this.outputBlob].data()]);
      return { output: output as Float32Array, acts: { blob, shape: this.shape(blob), data: acts as Float32Array }, ms: performance.now() - t0 };
    } finally {
      x.dispose();
      for (const t of Object.values(outs)) t.dispose();
    }
  }

  /**
   * Deconvolution of channel `unit` of `blob` (as the Deep Visualization Toolbox does it: the
   * channel's own activations sent back down, Zeiler & Fergus ReLU rule): the input-space image,
   * [H, W, 3] in the network's channel order.
   */
  async deconv(input: Float32Array, acts: Activations, unit: number, mode: GradMode = 'deconv'): Promise<Float32Array> {
    const C = channels(acts);
    const [h, w] = spatial(acts);
    const weight = new Float32Array(h * w * C);
    for (let i = 0; i < h * w; i++) weight[i * C + unit] = acts.data[i * C + unit];
    const x = this.inputTensor(input);
    const wt = acts.shape.length === 3 ? tf.tensor4d(weight, [1, h, w, C]) : tf.tensor2d(weight, [1, C]);
    const blob = acts.blob;
    const grad = tf.grad((inp: tf.Tensor) => {
      const out = this.net.forward(inp as tf.Tensor4D, [blob], { gradMode: mode })[blob];
      return tf.sum(tf.mul(out, wt));
    });
    const g = grad(x);
    try {
      return (await g.data()) as Float32Array;
    } finally {
      tf.dispose([x, wt, g]);
    }
  }

  /** Grad-CAM of class `index` (at the last spatial blob before the class scores), or undefined when the net has none. */
  classCam(input: Float32Array, index: number): (AttributionMap & { blob: string }) | undefined {
    if (!this.camAt) return undefined;
    return { ...gradCam(this.net, input, this.scoreBlob, index, this.camAt), blob: this.camAt };
  }

  /** Gradient × input of channel `unit` of `blob`. */
  gradInput(input: Float32Array, blob: string, unit: number): AttributionMap {
    return gradientTimesInput(this.net, input, blob, unit);
  }

  dispose(): void {
    this.net.dispose();
  }
}
