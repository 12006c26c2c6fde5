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
  try {
    const reduce = CPU_BACKENDS.has(tf.getBackend()) ? reduceOnHost : reduceOnDevice;
    return { errors, ...(await reduce(tf, outs, args, ok.length)) };
  } finally {
    tf.dispose(Object.values(outs));
  }
}

type Reduced = Omit<ScanBatchResult, 'errors'>;

/** Σ over the batch of a_u·p_c, [corr units × classes], from each corr blob's per-unit maxima [n, units]. */
function crossProducts(tf: typeof TF, args: ScanBatchArgs, maxima: Map<string, TF.Tensor>, probs: TF.Tensor, n: number): TF.Tensor {
  return tf.tidy(() => {
    const acts =
      args.corrBlobs.length === 1
        ? maxima.get(args.corrBlobs[0])!
        : tf.concat(
            args.corrBlobs.map((b) => maxima.get(b)!),
            1,
          );
    // actsᵀ transposed explicitly: tfjs-wasm multiplies a transposed operand with a plain loop (~9× slower).
    return tf.matMul(tf.transpose(acts) as TF.Tensor2D, tf.reshape(probs, [n, -1]) as TF.Tensor2D);
  });
}

/** CPU-side backends: one pass over each NHWC blob in host memory beats tfjs's transpose + two reductions. */
async function reduceOnHost(tf: typeof TF, outs: Record<string, TF.Tensor>, args: ScanBatchArgs, n: number): Promise<Reduced> {
  const values: Float32Array[] = [];
  const positions: (Int32Array | null)[] = [];
  const maxima = new Map<string, TF.Tensor>(); // per-unit maxima of the correlation blobs, [n, units]
  try {
    for (const b of args.blobs) {
      const o = outs[b];
      if (o.rank === 4) {
        const [, h, w, c] = o.shape;
        const r = maxArgmaxNhwc(o.dataSync() as Float32Array, n, h * w, c);
        values.push(r.values);
        positions.push(r.positions);
        if (args.corrBlobs.includes(b)) maxima.set(b, tf.tensor2d(r.values, [n, c]));
      } else {
        values.push(Float32Array.from(o.dataSync()));
        positions.push(null);
        if (args.corrBlobs.includes(b)) maxima.set(b, tf.reshape(o, [n, -1]));
      }
    }
    if (!args.probBlob) return { values, positions, probs: null, cross: null };
    const p = outs[args.probBlob];
    let cross: Float32Array | null = null;
    if (maxima.size > 0) {
      const t = crossProducts(tf, args, maxima, p, n);
      cross = Float32Array.from(t.dataSync());
      t.dispose();
    }
    return { values, positions, probs: Float32Array.from(p.dataSync()), cross };
  } finally {
    tf.dispose([...maxima.values()]);
  }
}

/**
 * GPU backends: every reduction where the blobs are, packed into one tensor and read back once
 * per batch (arg-max positions as float32: exact below 2^24).
 */
async function reduceOnDevice(tf: typeof TF, outs: Record<string, TF.Tensor>, args: ScanBatchArgs, n: number): Promise<Reduced> {
  const packed = tf.tidy(() => {
    const parts: TF.Tensor[] = [];
    const maxima = new Map<string, TF.Tensor>();
    for (const b of args.blobs) {
      const o = outs[b];
      if (o.rank === 4) {
        const [, h, w, c] = o.shape;
        const flat = tf.reshape(o, [n, h * w, c]);
        const mx = tf.max(flat, 1);
        parts.push(mx, tf.cast(tf.argMax(flat, 1), 'float32'));
        maxima.set(b, mx);
      } else {
        parts.push(o);
        maxima.set(b, tf.reshape(o, [n, -1]));
      }
    }
    if (args.probBlob) {
      parts.push(outs[args.probBlob]);
      if (args.corrBlobs.length > 0) parts.push(crossProducts(tf, args, maxima, outs[args.probBlob], n));
    }
    return tf.concat(parts.map((t) => tf.reshape(t, [-1])));
  });
  const all = (await packed.data()) as Float32Array;
  packed.dispose();
  let at = 0;
  const take = (size: number) => all.slice(at, (at += size));
  const values: Float32Array[] = [];
  const positions: (Int32Array | null)[] = [];
  for (const b of args.blobs) {
    const o = outs[b];
    const units = o.rank === 4 ? o.shape[3]! : o.size / n;
    values.push(take(n * units));
    positions.push(o.rank === 4 ? Int32Array.from(take(n * units)) : null);
  }
  if (!args.probBlob) return { values, positions, probs: null, cross: null };
  const classes = outs[args.probBlob].size;
  const probs = take(classes);
  const corrUnits = args.corrBlobs.reduce((sum, b) => sum + (outs[b].rank === 4 ? outs[b].shape[3]! : outs[b].size / n), 0);
  const cross = args.corrBlobs.length > 0 ? take(corrUnits * (classes / n)) : null;
  return { values, positions, probs, cross };
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
