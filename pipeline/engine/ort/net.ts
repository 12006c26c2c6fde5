/**
 * A Net (engine/net/types.ts) that runs on ONNX Runtime: the same interface as the TensorFlow.js
 * executor, so every stage runs on it unchanged. `forward` is one TensorFlow.js op whose value
 * comes from an ONNX Runtime forward session and whose gradient from a backward session (ort/export.ts:
 * fed the values the forward session saved and the seeds dL/dblob): tf.grad over code that
 * calls `forward` gets dL/dinput from ONNX Runtime, while the tensors around it (parameterisations,
 * priors, objectives) stay on the TensorFlow.js backend. Sessions are made on first use, one per
 * (blobs, mode), and cached.
 *
 * Layouts: TensorFlow.js tensors are NHWC (fully connected blobs [N, C]); the exported graphs take
 * and give that layout and transpose to NCHW inside, where ONNX Runtime does it fastest.
 */
import * as tf from '@tensorflow/tfjs-core';
import { UserError } from '../../core/errors.ts';
import type { Model } from '../../graph/types.ts';
import { tfShape as layoutShape } from '../net/layout.ts';
import { checkChannels, selectChannels } from '../net/select.ts';
import type { ForwardOptions, GradMode, Net, ScanReduceRequest, ScanReduction } from '../net/types.ts';
import { channelsName, exportGraph, INPUT, INPUT_GRAD, restrictableBlobs, type ScanOutputs, seedName } from './export.ts';
import { createSession, type Feed, type Session, type SessionOptions } from './runtime.ts';

interface Sessions {
  session: Session;
  outputs: string[];
  scan?: ScanOutputs;
  backward?: { session: Session; saved: string[] };
  /** Removes it from its net's cache. */
  drop(): void;
  /** Gradients still to come from it (a forward on the tape whose backward has not run): not closed meanwhile. */
  pins: number;
}

/**
 * Every ONNX Runtime session keeps the memory of its largest run in its arena (which makes runs
 * faster): the sessions of this thread, across nets (a stage may make one per layer, per gradient
 * mode, per pre-ReLU view), are capped; the least recently used beyond the cap are closed.
 */
const MAX_LIVE_SESSIONS = 4;
const live = new Set<Sessions>();
function touch(s: Sessions): void {
  live.delete(s);
  live.add(s);
  for (const old of [...live]) {
    if (live.size <= MAX_LIVE_SESSIONS) break;
    if (old.pins > 0) continue;
    live.delete(old);
    old.drop();
    old.session.dispose();
    old.backward?.session.dispose();
  }
}

/** Whether TensorFlow.js is recording a gradient tape (inside tf.grad and friends). */
function taping(): boolean {
  const state = (tf.engine() as unknown as { state: { gradientDepth: number; kernelDepth: number } }).state;
  return state.gradientDepth > 0 && state.kernelDepth === 0;
}

export function createOrtNet(model: Model, opts: SessionOptions = {}): Net {
  const { graph } = model;
  if (!graph.weights) throw new UserError(`model ${model.source} has no weights (a .caffemodel is needed to run it)`);
  if (graph.input.shape.length !== 3) throw new UserError(`model ${model.id}: the onnxruntime backend runs image models (C×H×W input)`);
  const [C, H, W] = graph.input.shape;
  const shapes = new Map(graph.blobs.map((b) => [b.name, b.shape]));
  const sessions = new Map<string, Sessions>();
  /** The forward session of `blobs`; with `grad`, one that also outputs the saved values, and the backward one. */
  const sessionFor = (blobs: string[], grad?: GradMode, scan?: ScanReduceRequest, restrict: string[] = []): Sessions => {
    const key = JSON.stringify([grad ?? 'forward', blobs, scan ?? null, restrict]);
    let s = sessions.get(key);
    if (!s) {
      const g = exportGraph(model, { blobs, grad, scan, restrict });
      s = { session: createSession(g.bytes, opts), outputs: g.outputs, scan: g.scan, drop: () => sessions.delete(key), pins: 0 };
      if (g.backward) s.backward = { session: createSession(g.backward.bytes, opts), saved: g.backward.saved.map((v) => v.name) };
      sessions.set(key, s);
    }
    touch(s);
    return s;
  };
  const checkInput = (input: tf.Tensor4D) => {
    const s = input.shape;
    if (input.rank !== 4 || s[1] !== H || s[2] !== W || s[3] !== C) throw new UserError(`model ${model.id}: input must be N×${H}×${W}×${C} (NHWC), got [${s}]`);
  };
  /** Of the blobs asked for with `channels`, those the graph computes for just those channels. */
  const restrictable = new Map<string, string[]>();
  const restrictFor = (blobs: string[], chosen: string[]) => {
    const key = JSON.stringify([blobs, [...chosen].sort()]);
    let r = restrictable.get(key);
    if (!r) restrictable.set(key, (r = restrictableBlobs(model, blobs, chosen).sort()));
    return r;
  };

  return {
    model,
    forward(input: tf.Tensor4D, blobs: string[], fopts?: ForwardOptions): Record<string, tf.Tensor> {
      checkInput(input);
      const s = input.shape;
      for (const b of blobs) if (!shapes.has(b)) throw new UserError(`model ${model.id} has no blob "${b}"`);
      if (fopts?.offsets && Object.keys(fopts.offsets).length > 0)
        throw new UserError('the onnxruntime engine does not take blob offsets (gradients by an intermediate blob run on TensorFlow.js)');
      const mode = fopts?.gradMode ?? 'backprop';
      const unique = [...new Set(blobs)];
      const channels = fopts?.channels ?? {};
      checkChannels(blobs, channels, (b) => shapes.get(b)![0]);
      // Blobs computed for their chosen channels only (in the graph); other chosen ones are cut after.
      const restrict = restrictFor(unique, Object.keys(channels));
      const own = (b: string) => (restrict.includes(b) ? [channels[b].length, ...shapes.get(b)!.slice(1)] : shapes.get(b)!);
      const sizes = unique.map((b) => own(b).reduce((a, x) => a * x, 1));
      const N = s[0];
      // TensorFlow.js shape of each blob, channels last (the graphs' own layout at their boundary).
      const tfShape = (b: string) => layoutShape(N, own(b));
      const run = (x: tf.Tensor, grad?: GradMode) => {
        const fwd = sessionFor(unique, grad, undefined, restrict);
        const feeds: Record<string, Feed> = { [INPUT]: { data: x.dataSync() as Float32Array, dims: x.shape } };
        for (const b of restrict) feeds[channelsName(b)] = { data: Int32Array.from(channels[b]), dims: [channels[b].length] };
        const res = fwd.session.run(feeds, [...fwd.outputs, ...(fwd.backward?.saved ?? [])]);
        const saved: Record<string, Feed> = {};
        for (const name of fwd.backward?.saved ?? []) saved[name] = { data: res[name].data, dims: res[name].dims };
        return { data: fwd.outputs.map((o) => res[o].data as Float32Array), saved, sessions: fwd };
      };
      const pick = (byBlob: Map<string, tf.Tensor>) => {
        const out: Record<string, tf.Tensor> = {};
        for (const b of blobs) {
          const ch = channels[b];
          out[b] = ch && !restrict.includes(b) ? selectChannels(byBlob.get(b)!, ch) : byBlob.get(b)!;
        }
        return out;
      };

      if (!taping()) {
        // No gradient wanted: the outputs as they come.
        const { data } = run(input);
        return tf.tidy(() => pick(new Map(unique.map((b, i) => [b, tf.tensor(data[i], tfShape(b))]))));
      }

      // Differentiable: one op whose value is every blob, flattened per image ([N, Σ sizes]), and
      // whose gradient comes from the gradient session fed the input and the seeds.
      const total = sizes.reduce((a, b) => a + b, 0);
      const op = tf.customGrad(((x: tf.Tensor) => {
        // The values the backward graph needs stay here, as ONNX Runtime gave them, until the gradient.
        const { data, saved, sessions: pair } = run(x, mode);
        pair.pins++;
        let flat = data[0];
        if (data.length > 1) {
          flat = new Float32Array(N * total);
          let off = 0;
          data.forEach((d, i) => {
            const per = sizes[i];
            for (let n = 0; n < N; n++) flat.set(d.subarray(n * per, (n + 1) * per), n * total + off);
            off += per;
          });
        }
        return {
          value: tf.tensor2d(flat, [N, total]),
          gradFunc: (dy: tf.Tensor) => {
            const d = dy.dataSync() as Float32Array;
            const feeds: Record<string, Feed> = { ...saved };
            let o = 0;
            unique.forEach((b, i) => {
              const per = sizes[i];
              let seed = d;
              if (unique.length > 1) {
                seed = new Float32Array(N * per);
                for (let n = 0; n < N; n++) seed.set(d.subarray(n * total + o, n * total + o + per), n * per);
              }
              feeds[seedName(b)] = { data: seed, dims: tfShape(b) };
              o += per;
            });
            pair.pins--;
            const gx = pair.backward!.session.run(feeds, [INPUT_GRAD])[INPUT_GRAD].data as Float32Array;
            return tf.tensor4d(gx, [N, H, W, C]);
          },
        };
      }) as unknown as Parameters<typeof tf.customGrad>[0]);

      return tf.tidy(() => {
        const all = op(input) as tf.Tensor2D;
        const parts = sizes.length === 1 ? [all] : tf.split(all, sizes, 1);
        return pick(new Map(unique.map((b, i) => [b, tf.reshape(parts[i], tfShape(b))])));
      });
    },
    scanReduce(input: tf.Tensor4D, req: ScanReduceRequest): ScanReduction {
      checkInput(input);
      const sc = sessionFor([], undefined, req);
      const o = sc.scan!;
      const names = [...o.values, ...o.positions.filter((p): p is string => p !== null), ...(o.probs ? [o.probs] : []), ...(o.cross ? [o.cross] : [])];
      const res = sc.session.run({ [INPUT]: { data: input.dataSync() as Float32Array, dims: input.shape } }, names);
      const f32 = (name: string) => res[name].data as Float32Array;
      return {
        values: o.values.map(f32),
        positions: o.positions.map((p) => (p ? (res[p].data as Int32Array) : null)),
        probs: o.probs ? f32(o.probs) : null,
        cross: o.cross ? f32(o.cross) : null,
      };
    },
    dispose() {
      for (const s of sessions.values()) {
        live.delete(s);
        s.session.dispose();
        s.backward?.session.dispose();
      }
      sessions.clear();
    },
  };
}
