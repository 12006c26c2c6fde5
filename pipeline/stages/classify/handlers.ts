import type { HandlerContext, HandlerTable } from '../../engine/workers/handlers.ts';

/** What a pool worker (or the local thread) hands each handler. */
export interface ClassifyArgs {
  /** n preprocessed images, NHWC float32 (network channel order). */
  data: Float32Array;
  n: number;
  h: number;
  w: number;
  /** The class blob (one value per class per image). */
  blob: string;
  /** Apply softmax to the blob (false when it already is a Softmax output). */
  softmax: boolean;
  top: number;
}

export interface ClassifyResult {
  /** [n × k] class indices, best first. */
  indices: Int32Array;
  /** [n × k] probabilities. */
  probs: Float32Array;
  k: number;
}

/** Runs one batch up to the class blob and returns each image's top-k classes. */
export async function classifyBatch({ net, tf }: HandlerContext, args: ClassifyArgs): Promise<ClassifyResult> {
  const { n, h, w, blob } = args;
  const probs = tf.tidy(() => {
    const x = tf.tensor4d(args.data, [n, h, w, 3]);
    const y = tf.reshape(net.forward(x, [blob])[blob], [n, -1]);
    return args.softmax ? tf.softmax(y) : y;
  });
  const values = (await probs.data()) as Float32Array;
  const classes = probs.shape[1] as number;
  probs.dispose();
  return topK(values, n, classes, args.top);
}

/** Top-k per row of an [n × classes] matrix (ties: lower index first). */
export function topK(values: Float32Array, n: number, classes: number, top: number): ClassifyResult {
  const k = Math.min(top, classes);
  const indices = new Int32Array(n * k);
  const probs = new Float32Array(n * k);
  const order = new Int32Array(classes);
  for (let i = 0; i < n; i++) {
    const row = values.subarray(i * classes, (i + 1) * classes);
    for (let c = 0; c < classes; c++) order[c] = c;
    const sorted = Array.from(order).sort((a, b) => row[b] - row[a] || a - b);
    for (let j = 0; j < k; j++) {
      indices[i * k + j] = sorted[j];
      probs[i * k + j] = row[sorted[j]];
    }
  }
  return { indices, probs, k };
}

/** The classify stage's handlers, run by the engine's runner (./handler-table.ts names this table). */
export const handlers = { classifyBatch } satisfies HandlerTable;
