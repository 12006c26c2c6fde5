/**
 * A Net (engine/net/types.ts) that runs on ONNX Runtime: the same interface as the TensorFlow.js
 * executor, so every stage runs on it unchanged. `forward` is one TensorFlow.js op whose value
 * comes from an ONNX Runtime forward session and whose gradient from a gradient session (the
 * backward graph of ort/export.ts, fed the input and the seeds dL/dblob): tf.grad over code that
 * calls `forward` gets dL/dinput from ONNX Runtime, while the tensors around it (parameterisations,
 * priors, objectives) stay on the TensorFlow.js backend. Sessions are made on first use, one per
 * (blobs, mode), and cached.
 *
 * Layouts: TensorFlow.js tensors are NHWC (fully connected blobs [N, C]); ONNX Runtime runs NCHW.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/errors.ts';
import type { Model } from '../../graph/types.ts';
import { selectChannels } from '../net/select.ts';
import type { ForwardOptions, GradMode, Net } from '../net/types.ts';
import { exportGraph, INPUT, INPUT_GRAD, seedName } from './export.ts';
import { createSession, type Session, type SessionOptions } from './runtime.ts';

/** NHWC → NCHW (or back with `back`), for N images of C×H×W. */
export function transposeImages(src: Float32Array, n: number, c: number, h: number, w: number, back = false): Float32Array {
  const out = new Float32Array(src.length);
  const hw = h * w;
  for (let i = 0; i < n; i++) {
    const o = i * c * hw;
    for (let p = 0; p < hw; p++)
      for (let k = 0; k < c; k++) {
        if (back) out[o + p * c + k] = src[o + k * hw + p];
        else out[o + k * hw + p] = src[o + p * c + k];
      }
  }
  return out;
}

export function createOrtNet(model: Model, opts: SessionOptions = {}): Net {
  const { graph } = model;
  if (!graph.weights) throw new UserError(`model ${model.source} has no weights (a .caffemodel is needed to run it)`);
  if (graph.input.shape.length !== 3) throw new UserError(`model ${model.id}: the onnxruntime backend runs image models (C×H×W input)`);
  const [C, H, W] = graph.input.shape;
  const shapes = new Map(graph.blobs.map((b) => [b.name, b.shape]));
  const sessions = new Map<string, { session: Session; outputs: string[] }>();
  const sessionFor = (blobs: string[], grad?: GradMode) => {
    const key = `${grad ?? 'forward'}\u0001${blobs.join('\u0000')}`;
    let s = sessions.get(key);
    if (!s) {
      const g = exportGraph(model, { blobs, grad });
      s = { session: createSession(g.bytes, opts), outputs: g.outputs };
      sessions.set(key, s);
    }
    return s;
  };
  const sizeOf = (b: string) => shapes.get(b)!.reduce((a, x) => a * x, 1);

  return {
    model,
    forward(input: tf.Tensor4D, blobs: string[], fopts?: ForwardOptions): Record<string, tf.Tensor> {
      const s = input.shape;
      if (input.rank !== 4 || s[1] !== H || s[2] !== W || s[3] !== C)
        throw new UserError(`model ${model.id}: input must be N×${H}×${W}×${C} (NHWC), got [${s}]`);
      for (const b of blobs) if (!shapes.has(b)) throw new UserError(`model ${model.id} has no blob "${b}"`);
      const mode = fopts?.gradMode ?? 'backprop';
      const unique = [...new Set(blobs)];
      const sizes = unique.map(sizeOf);
      const total = sizes.reduce((a, b) => a + b, 0);
      const N = s[0];
      const nchwInput = (x: tf.Tensor) => ({ data: transposeImages(x.dataSync() as Float32Array, N, C, H, W), dims: [N, C, H, W] });

      // One op: [N, Σ sizes] of every blob in Caffe's C,H,W order; its gradient from ONNX Runtime.
      const op = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
        const fwd = sessionFor(unique);
        const res = fwd.session.run({ [INPUT]: nchwInput(x) }, fwd.outputs);
        const flat = new Float32Array(N * total);
        let off = 0;
        unique.forEach((_, i) => {
          const d = res[fwd.outputs[i]].data;
          const per = sizes[i];
          for (let n = 0; n < N; n++) flat.set(d.subarray(n * per, (n + 1) * per), n * total + off);
          off += per;
        });
        save([x]);
        return {
          value: tf.tensor2d(flat, [N, total]),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const gs = sessionFor(unique, mode);
            const d = dy.dataSync() as Float32Array;
            const feeds: Record<string, { data: Float32Array; dims: number[] }> = { [INPUT]: nchwInput(saved[0]) };
            let o = 0;
            unique.forEach((b, i) => {
              const per = sizes[i];
              const seed = new Float32Array(N * per);
              for (let n = 0; n < N; n++) seed.set(d.subarray(n * total + o, n * total + o + per), n * per);
              feeds[seedName(b)] = { data: seed, dims: [N, ...shapes.get(b)!] };
              o += per;
            });
            const gx = gs.session.run(feeds, [INPUT_GRAD])[INPUT_GRAD].data;
            return tf.tensor4d(transposeImages(gx, N, C, H, W, true), [N, H, W, C]);
          },
        };
      }) as unknown as Parameters<typeof tf.customGrad>[0]);

      return tf.tidy(() => {
        const all = op(input) as tf.Tensor2D;
        const parts = sizes.length === 1 ? [all] : tf.split(all, sizes, 1);
        const byBlob = new Map<string, tf.Tensor>();
        unique.forEach((b, i) => {
          const shape = shapes.get(b)!;
          // Caffe C×H×W → TensorFlow.js N×H×W×C; [C] → [N, C].
          byBlob.set(b, shape.length === 3 ? tf.transpose(tf.reshape(parts[i], [N, ...shape]), [0, 2, 3, 1]) : tf.reshape(parts[i], [N, ...shape]));
        });
        const out: Record<string, tf.Tensor> = {};
        for (const b of blobs) {
          const ch = fopts?.channels?.[b];
          const t = byBlob.get(b)!;
          out[b] = ch ? selectChannels(t, ch) : t;
        }
        return out;
      });
    },
    dispose() {
      for (const s of sessions.values()) s.session.dispose();
      sessions.clear();
    },
  };
}
