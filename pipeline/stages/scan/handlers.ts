import type { HandlerContext, HandlerTable } from '../../engine/workers/handlers.ts';
import type * as TF from '@tensorflow/tfjs-core';
import type { Model } from '../../graph/types.ts';
import type { GradMode } from '../../engine/net/types.ts';
import { decodeImage, type DecodedImage } from '../../image/decode.ts';
import { deprocessToRgb, encodeWebp } from '../../image/encode.ts';
import { heatMapImage, signedMapImage } from '../../image/maps.ts';
import { writeJsonAtomic } from '../../io/atomic.ts';
import { writeFileAtomic } from '../../io/atomic.ts';
import { oneLine } from '../../core/errors.ts';
import { unitInputGradients } from './deconv.ts';
import { gradientTimesActivation, type CircuitTarget } from './circuit-gradient.ts';
import type { Net } from '../../engine/net/types.ts';
import { currentEngine } from '../../engine/backend.ts';
import { createNet as createTfjsNet } from '../../engine/net/build.ts';
import { cropZeroPadded, unitWindow } from './patches.ts';

/**
 * The scan's work items, run where a net lives (a pool worker, or in-process): each handler gets
 * `{ net, model, tf }` and plain, structured-clone-able arguments.
 */
export interface ScanBatchArgs {
  /** Absolute paths. */
  files: string[];
  /** Blobs whose units are tracked. */
  blobs: string[];
  /** Class-probability blob for the correlations, or null. */
  probBlob: string | null;
  /** Tracked blobs whose units get class correlations (with probBlob). */
  corrBlobs: string[];
}

export interface ScanBatchResult {
  /** Per file: null when decoded and run, else why it was skipped. */
  errors: (string | null)[];
  /** Per blob: [ok images × units] spatial maxima (fc: the values), in file order of the ok images. */
  values: Float32Array[];
  /** Per blob: flat arg-max positions (y·W + x), null for fc blobs. */
  positions: (Int32Array | null)[];
  /** [ok images × classes] probabilities, or null. */
  probs: Float32Array | null;
  /** Σ over the batch's ok images of a_u·p_c: [corr units × classes] (corr units in corrBlobs order), or null. */
  cross: Float32Array | null;
}

async function decodeAll(files: string[], model: Model): Promise<{ images: (DecodedImage | null)[]; errors: (string | null)[] }> {
  const images: (DecodedImage | null)[] = [];
  const errors: (string | null)[] = [];
  for (const f of files) {
    try {
      const img = await decodeImage(f, model.preprocess);
      images.push(img);
      errors.push(null);
    } catch (e) {
      images.push(null);
      // The decoder's messages start with the file name; keep only the reason.
      errors.push(oneLine(e).replace(`${f}: `, ''));
    }
  }
  return { images, errors };
}

const CPU_BACKENDS = new Set(['wasm', 'cpu']);

/**
 * Per image and channel of an NHWC blob: the maximum over the H·W positions and the first
 * position where it is reached (NaN never wins).
 */
export function maxArgmaxNhwc(data: Float32Array, n: number, hw: number, c: number): { values: Float32Array; positions: Int32Array } {
  const values = new Float32Array(n * c).fill(Number.NEGATIVE_INFINITY);
  const positions = new Int32Array(n * c);
  for (let i = 0; i < n; i++) {
    const o = i * c;
    for (let p = 0; p < hw; p++) {
      const base = (i * hw + p) * c;
      for (let ch = 0; ch < c; ch++) {
        const v = data[base + ch];
        if (v > values[o + ch]) {
          values[o + ch] = v;
          positions[o + ch] = p;
        }
      }
    }
  }
  return { values, positions };
}

/** Decodes a batch of images, runs the net once, reduces each tracked blob to per-unit maxima. */
export async function scanBatch({ net, model, tf }: HandlerContext, args: ScanBatchArgs): Promise<ScanBatchResult> {
  const { images, errors } = await decodeAll(args.files, model);
  const ok = images.filter((x): x is DecodedImage => x !== null);
  const [C, H, W] = model.graph.input.shape;
  if (ok.length === 0) return { errors, values: args.blobs.map(() => new Float32Array(0)), positions: args.blobs.map(() => null), probs: null, cross: null };
  const batch = new Float32Array(ok.length * H * W * C);
  ok.forEach((img, i) => batch.set(img.input, i * H * W * C));
  const x = tf.tensor4d(batch, [ok.length, H, W, C]);
  if (net.scanReduce) {
    // The net reduces where it runs the graph.
    try {
      return { errors, ...net.scanReduce(x, { blobs: args.blobs, probBlob: args.probBlob, corrBlobs: args.corrBlobs }) };
    } finally {
      x.dispose();
    }
  }
  const want = args.probBlob && !args.blobs.includes(args.probBlob) ? [...args.blobs, args.probBlob] : args.blobs;
  const outs = net.forward(x, want);
  x.dispose();
  const values: Float32Array[] = [];
  const positions: (Int32Array | null)[] = [];
  let probs: Float32Array | null = null;
  let cross: Float32Array | null = null;
  const keep = new Map<string, TF.Tensor>(); // per-unit maxima of the correlation blobs, [n, units]
  // On CPU backends one pass over the NHWC data here beats tfjs's transpose + two reductions.
  const cpuSide = CPU_BACKENDS.has(tf.getBackend());
  try {
    for (const b of args.blobs) {
      const o = outs[b];
      if (o.rank === 4) {
        const [n, h, w, c] = o.shape;
        if (cpuSide) {
          const r = maxArgmaxNhwc(o.dataSync() as Float32Array, n, h * w, c);
          values.push(r.values);
          positions.push(r.positions);
          if (args.corrBlobs.includes(b)) keep.set(b, tf.tensor2d(r.values, [n, c]));
          continue;
        }
        const [mx, am] = tf.tidy(() => {
          const flat = tf.reshape(o, [n, h * w, c]);
          return [tf.max(flat, 1), tf.argMax(flat, 1)];
        });
        // Asynchronous reads: WebGPU has no synchronous one in Node.
        values.push(Float32Array.from(await mx.data()));
        positions.push(Int32Array.from(await am.data()));
        am.dispose();
        if (args.corrBlobs.includes(b)) keep.set(b, mx);
        else mx.dispose();
      } else {
        values.push(Float32Array.from(await o.data()));
        positions.push(null);
        if (args.corrBlobs.includes(b)) keep.set(b, tf.reshape(o, [o.shape[0], -1]));
      }
    }
    if (args.probBlob) {
      const p = outs[args.probBlob];
      probs = Float32Array.from(await p.data());
      if (keep.size > 0) {
        // The batch's share of Σ a·p as one matrix product (cheap here, costly on the main thread).
        const t = tf.tidy(() => {
          const acts =
            keep.size === 1
              ? [...keep.values()][0]
              : tf.concat(
                  args.corrBlobs.map((b) => keep.get(b)!),
                  1,
                );
          return tf.matMul(acts, tf.reshape(p, [ok.length, -1]), true, false);
        });
        cross = Float32Array.from(await t.data());
        t.dispose();
      }
    }
  } finally {
    tf.dispose([...Object.values(outs), ...keep.values()]);
  }
  return { errors, values, positions, probs, cross };
}

export interface RenderTarget {
  blob: string;
  unit: number;
  pos: number;
  /** Recorded activation (to check the render reproduces it). */
  value: number;
  /** Absolute output paths: the patch, the signed map, its heat map and the maps' scale (a record part). */
  patch: string;
  deconv: string;
  heat: string;
  scale: string;
}

export interface RenderImageArgs {
  file: string;
  targets: RenderTarget[];
  mode: GradMode;
  /** Copies of the image per gradient batch. */
  batch: number;
}

export interface RenderImageResult {
  error: string | null;
  /** Activations reproduced by the render pass, per target. */
  values: number[];
}

/**
 * For one image: the receptive-field patch and the deconv (or backprop/guided) map of each target
 * unit, cropped to the same window and written as WebP.
 */
export async function renderImage({ net, model }: HandlerContext, args: RenderImageArgs): Promise<RenderImageResult> {
  const [C, H, W] = model.graph.input.shape;
  let img: DecodedImage;
  try {
    img = await decodeImage(args.file, model.preprocess);
  } catch (e) {
    return { error: oneLine(e), values: [] };
  }
  const infos = new Map(model.graph.blobs.map((b) => [b.name, b]));
  const values: number[] = [];
  for (let start = 0; start < args.targets.length; start += args.batch) {
    const group = args.targets.slice(start, start + args.batch);
    const { grads, values: v } = await unitInputGradients(net, img.input, group, args.mode);
    values.push(...v);
    await Promise.all(
      group.map(async (t, i) => {
        const win = unitWindow(infos.get(t.blob)!, t.pos, H, W);
        const patch = cropZeroPadded(img.input, H, W, C, win);
        const rgb = deprocessToRgb(patch, win.height, win.width, model.preprocess);
        const map = cropZeroPadded(grads[i], H, W, C, win);
        const signed = signedMapImage(map, win.height, win.width, model.preprocess.channelOrder);
        const heat = heatMapImage(map, rgb, win.height, win.width);
        await writeFileAtomic(t.patch, await encodeWebp(rgb, win.width, win.height));
        await writeFileAtomic(t.deconv, await encodeWebp(signed.rgb, win.width, win.height));
        await writeFileAtomic(t.heat, await encodeWebp(heat.rgb, win.width, win.height));
        await writeJsonAtomic(t.scale, { deconv: signed.scale, heat: heat.scale });
      }),
    );
  }
  return { error: null, values };
}

export interface UnitCircuitArgs extends CircuitTarget {
  /** The unit's top images (absolute paths) and its max position on each. */
  files: string[];
  positions: number[];
  /** Images per gradient batch. */
  batch: number;
}

export interface UnitCircuitResult {
  /** Σ over the images decoded of each channel's gradient × activation (length: channels of `from`). */
  sum: Float64Array;
  images: number;
  /** Activations reproduced, per decoded image (to check against the scan's). */
  values: number[];
  errors: string[];
}

/** TensorFlow.js nets for gradients by an intermediate blob where the thread's net runs on ONNX Runtime. */
const tfjsNets = new WeakMap<Model, Net>();
function offsetNet(net: Net, model: Model): Net {
  if (currentEngine() !== 'onnxruntime') return net;
  let n = tfjsNets.get(model);
  if (!n) {
    n = createTfjsNet(model);
    tfjsNets.set(model, n);
  }
  return n;
}

/** One unit's gradient × activation from the channels of blob `from`, summed over its top images. */
export async function unitCircuit({ net, model }: HandlerContext, args: UnitCircuitArgs): Promise<UnitCircuitResult> {
  const { images, errors } = await decodeAll(args.files, model);
  const target: CircuitTarget = { blob: args.blob, unit: args.unit, from: args.from };
  const ok: Float32Array[] = [];
  const positions: number[] = [];
  images.forEach((img, i) => {
    if (img) {
      ok.push(img.input);
      positions.push(args.positions[i]);
    }
  });
  const channels = model.graph.blobs.find((b) => b.name === args.from)?.shape[0] ?? 0;
  const sum = new Float64Array(channels);
  const values: number[] = [];
  const gnet = offsetNet(net, model);
  for (let start = 0; start < ok.length; start += args.batch) {
    const r = await gradientTimesActivation(gnet, ok.slice(start, start + args.batch), positions.slice(start, start + args.batch), target);
    for (const v of r.perImage) for (let c = 0; c < channels; c++) sum[c] += v[c];
    values.push(...r.values);
  }
  return { sum, images: ok.length, values, errors: errors.filter((e): e is string => e !== null) };
}

/** The scan stage's handlers, run by the engine's runner (./handler-table.ts names this table). */
export const handlers = { scanBatch, renderImage, unitCircuit } satisfies HandlerTable;
