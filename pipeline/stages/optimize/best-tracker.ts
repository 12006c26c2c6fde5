/**
 * What the ascent records of each image — the activation at its first and last evaluation, the
 * best one and the image that reached it, the first step at which the unit was its layer's
 * arg-max — kept as tensors where the net runs, so a GPU backend reads nothing back until the
 * render ends (one read of the statistics, one of the images).
 *
 * "Better" is strictly greater, as a comparison of float32 values: the same images are kept on
 * every backend that computes the same activations.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Backends whose tensors live in host memory: reading a value costs nothing there. */
const HOST_BACKENDS = new Set(['wasm', 'cpu']);

export interface TrackedStats {
  start: Float32Array;
  best: Float32Array;
  final: Float32Array;
  /** Per image: the first step at which its unit was the arg-max, or null. */
  argmaxStep: (number | null)[];
  /** The best images, [n, H, W, C] row-major. */
  images: Float32Array;
}

export class BestTracker {
  private start: tf.Tensor1D | null = null;
  private best: tf.Tensor1D | null = null;
  private final: tf.Tensor1D | null = null;
  /** float32 step index, −1 while the unit has not been the arg-max. */
  private argmaxStep: tf.Tensor1D | null = null;
  private bestImg: tf.Tensor4D | null = null;
  private zero: tf.Scalar | null = null;

  constructor(private readonly n: number) {}

  /** Records the activations `vals` [n] of `img` (the clean image) at `step`; `hits` [n] bool: arg-max. */
  record(step: number, vals: tf.Tensor1D, hits: tf.Tensor1D, img: tf.Tensor4D): void {
    if (!this.best) {
      this.start = tf.keep(vals.clone());
      this.best = tf.keep(tf.fill([this.n], Number.NEGATIVE_INFINITY) as tf.Tensor1D);
      this.argmaxStep = tf.keep(tf.fill([this.n], -1) as tf.Tensor1D);
      this.zero = tf.keep(tf.scalar(0));
    }
    const prev = { best: this.best, final: this.final, argmaxStep: this.argmaxStep!, bestImg: this.bestImg };
    const next = tf.tidy(() => {
      const better = tf.greater(vals, prev.best) as tf.Tensor1D;
      const firstHit = tf.logicalAnd(hits, tf.less(prev.argmaxStep, this.zero!));
      return {
        better,
        best: tf.where(better, vals, prev.best) as tf.Tensor1D,
        argmaxStep: tf.where(firstHit, tf.fill([this.n], step), prev.argmaxStep) as tf.Tensor1D,
        final: vals.clone(),
      };
    });
    this.best = next.best;
    this.argmaxStep = next.argmaxStep;
    this.final = next.final;
    this.bestImg = prev.bestImg ? this.keepBetter(next.better, img, prev.bestImg) : img.clone();
    const stale: (tf.Tensor | null)[] = [next.better, prev.best, prev.final, prev.argmaxStep, prev.bestImg !== this.bestImg ? prev.bestImg : null];
    tf.dispose(stale.filter((t): t is tf.Tensor => t !== null));
  }

  /** The images where `better`, else the previous best ones. */
  private keepBetter(better: tf.Tensor1D, img: tf.Tensor4D, prev: tf.Tensor4D): tf.Tensor4D {
    const n = this.n;
    if (HOST_BACKENDS.has(tf.getBackend())) {
      // Host memory: read the flags and copy image by image (a broadcast where() is slow on wasm).
      const b = better.dataSync();
      if (!b.some(Boolean)) return prev;
      return tf.tidy(() => {
        const a = tf.split(img, n, 0);
        const p = tf.split(prev, n, 0);
        return tf.concat(
          a.map((t, i) => (b[i] ? t : p[i])),
          0,
        ) as tf.Tensor4D;
      });
    }
    return tf.tidy(() => tf.where(tf.broadcastTo(tf.reshape(better, [n, 1, 1, 1]), img.shape), img, prev) as tf.Tensor4D);
  }

  /** Reads everything recorded (two reads); throws when nothing was. */
  async read(): Promise<TrackedStats> {
    if (!this.best || !this.bestImg) throw new Error('BestTracker: nothing recorded');
    const stats = tf.concat([this.start!, this.best, this.final!, this.argmaxStep!]);
    const [s, images] = await Promise.all([stats.data() as Promise<Float32Array>, this.bestImg.data() as Promise<Float32Array>]);
    stats.dispose();
    const n = this.n;
    return {
      start: s.slice(0, n),
      best: s.slice(n, 2 * n),
      final: s.slice(2 * n, 3 * n),
      argmaxStep: Array.from(s.subarray(3 * n, 4 * n), (v) => (v < 0 ? null : v)),
      images,
    };
  }

  dispose(): void {
    const all: (tf.Tensor | null)[] = [this.start, this.best, this.final, this.argmaxStep, this.bestImg, this.zero];
    tf.dispose(all.filter((t): t is tf.Tensor => t !== null));
    this.start = this.best = this.final = this.argmaxStep = this.bestImg = null;
    this.zero = null;
  }
}
