/**
 * A Model's graph as an ONNX graph for ONNX Runtime (NCHW inside, TensorFlow.js's NHWC at the
 * inputs and outputs, the batch dimension dynamic), with
 * Caffe's semantics spelled out in plain ONNX ops: CEIL pooling as explicit end pads, AVE pooling
 * as a depthwise sum divided by Caffe's clipped window size, batch norm and scale as per-channel
 * affines.
 *
 * Two kinds of graph:
 * - forward: input → the requested blobs;
 * - gradient: a forward graph that also outputs the values the backward pass reads, and a backward
 *   graph from those and one seed per requested blob (dL/dblob) to dL/dinput, built from ONNX ops: Conv → ConvTranspose, Gemm → MatMul, ReLU masks (or
 *   the deconv / guided rules), max pooling through MaxPool's Indices and a scatter-add, average
 *   pooling as the transposed depthwise sum, LRN by its derivative, Concat → Split, Softmax by its
 *   Jacobian. An op this cannot express exactly is a UserError naming the layer, never a
 *   different result.
 *
 * The layer kinds of ONNX and TF.js models (graph/tensor-layers.ts) are written by ./export-tensor.ts.
 */
import { UserError } from '../../core/errors.ts';
import type { Layer, Model, ParamBlob } from '../../graph/types.ts';
import { isTensorLayer } from '../../graph/tensor-layers.ts';
import { BOOL, FLOAT, INT32, INT64, OnnxBuilder } from '../../io/onnx-writer.ts';
import { batchNormAffine, scaleAffine } from '../net/layers.ts';
import { type ChannelLinks, neededSteps, restrictedSteps } from '../net/plan.ts';
import type { GradMode, ScanReduceRequest } from '../net/types.ts';
import { avgPoolOnnx, type Backward, type GraphOps, maxPoolOnnx, tensorLayer } from './export-tensor.ts';

export const INPUT = 'input';
export const INPUT_GRAD = 'input_grad';
export const seedName = (blob: string) => `seed:${blob}`;
/** Input of the forward graph: which channels of a restricted blob to compute (int32 [K]). */
export const channelsName = (blob: string) => `channels:${blob}`;

export interface ExportRequest {
  blobs: string[];
  /** Build the gradient graph with this ReLU rule (absent: forward only). */
  grad?: GradMode;
  /** Instead of the blobs, output what a scan keeps of them (forward only). */
  scan?: ScanReduceRequest;
  /**
   * Blobs computed for chosen channels only, fed per run as `channelsName(blob)` (their channel
   * axis has that many entries, in that order): each must be one of `restrictableBlobs`.
   */
  restrict?: string[];
}

/** Output names of a scan graph. */
export interface ScanOutputs {
  values: string[];
  /** int32 arg-max positions (y·W + x) per tracked blob, null for fc blobs. */
  positions: (string | null)[];
  probs: string | null;
  cross: string | null;
}

export interface ExportedGraph {
  /** The forward graph: input → the requested blobs (and, for a gradient, the saved values). */
  bytes: Uint8Array;
  /** The output name of each requested blob, in order. */
  outputs: string[];
  /** Gradient graphs: seeds + the forward graph's saved values → dL/dinput (INPUT_GRAD). */
  backward?: { bytes: Uint8Array; saved: { name: string; type: number }[] };
  /** Scan graphs: their outputs (`outputs` is empty). */
  scan?: ScanOutputs;
}

const OPSET = 18;

/** Conv filters [O, I/g, kh, kw] → the filters of the input gradient [I, O/g, kh, kw], rotated 180°. */
export function flipFilters(w: ParamBlob, group: number): { shape: number[]; data: Float32Array } {
  const [O, Ig, kh, kw] = w.shape;
  const Og = O / group;
  const out = new Float32Array(w.data.length);
  for (let gi = 0; gi < group; gi++)
    for (let o = 0; o < Og; o++)
      for (let i = 0; i < Ig; i++)
        for (let y = 0; y < kh; y++)
          for (let x = 0; x < kw; x++) {
            const src = (((gi * Og + o) * Ig + i) * kh + y) * kw + x;
            const dst = (((gi * Ig + i) * Og + o) * kh + (kh - 1 - y)) * kw + (kw - 1 - x);
            out[dst] = w.data[src];
          }
  return { shape: [Ig * group, Og, kh, kw], data: out };
}

/**
 * A blob whose channels this export can compute alone: it is made by a convolution without groups
 * or an InnerProduct, through per-channel layers that hold no channel count (ReLU, Dropout, a
 * whole-map average) and whose values nothing else reads — the executor's `channels` option, here
 * with the filters gathered per run (SqueezeNet's pool10: 8 of conv10's 1000 filters).
 */
function channelLinks(l: Layer, shapes: Map<string, number[]>): ChannelLinks {
  const links = { bottoms: l.bottoms, tops: l.tops };
  if (isTensorLayer(l)) return links;
  if (l.kind === 'conv') return { ...links, restrictable: l.group === 1 };
  if (l.kind === 'fc') return { ...links, restrictable: true };
  if (l.kind === 'relu') return { ...links, channelwise: true };
  if (l.kind === 'identity') return { ...links, channelwise: l.tops.length === 1 };
  if (l.kind === 'pool' && l.method === 'ave') {
    const [, H, W] = shapes.get(l.bottoms[0]) ?? [];
    const whole = l.global || (l.kernel[0] === H && l.kernel[1] === W && l.pad[0] === 0 && l.pad[1] === 0);
    return { ...links, channelwise: whole };
  }
  return links;
}

/** The restricted layer of each blob of `restrict` that can be computed for chosen channels (see channelLinks). */
function restrictedLayers(shapes: Map<string, number[]>, layers: Layer[], blobs: string[], restrict: string[]): Map<string, string> {
  const links = layers.map((l) => ({ ...channelLinks(l, shapes), name: l.name }));
  const out = new Map<string, string>();
  for (const [step, blob] of restrictedSteps(links, blobs, restrict)) out.set(step.name, blob);
  return out;
}

/** The blobs of `restrict` that an export of `blobs` can compute for chosen channels (the rest: whole, then cut). */
export function restrictableBlobs(model: Model, blobs: string[], restrict: string[]): string[] {
  const shapes = new Map(model.graph.blobs.map((b) => [b.name, b.shape]));
  return [...restrictedLayers(shapes, neededSteps(model.graph.layers, blobs), blobs, restrict).values()];
}

export function exportGraph(model: Model, request: ExportRequest): ExportedGraph {
  const sc = request.scan;
  if (sc && request.grad) throw new Error('a scan graph has no gradient');
  if (sc && request.restrict?.length) throw new Error('a scan graph computes whole blobs');
  // A scan graph computes its tracked blobs and the class blob.
  const req = sc ? { ...request, blobs: [...new Set([...sc.blobs, ...(sc.probBlob ? [sc.probBlob] : [])])] } : request;
  const { graph } = model;
  if (!graph.weights) throw new UserError(`model ${model.source} has no weights (a .caffemodel is needed to run it)`);
  const shapes = new Map(graph.blobs.map((b) => [b.name, b.shape]));
  for (const b of req.blobs) if (!shapes.has(b)) throw new UserError(`model ${model.id} has no blob "${b}"`);
  const layers = neededSteps(graph.layers, req.blobs);
  const restrictAt = restrictedLayers(shapes, layers, req.blobs, request.restrict ?? []);
  const restricted = new Set(request.restrict ?? []);
  for (const b of restricted)
    if (![...restrictAt.values()].includes(b)) throw new Error(`internal: blob "${b}" cannot be computed for chosen channels on onnxruntime`);
  const g = new OnnxBuilder(OPSET, model.id);
  /** The gradient graphs' backward half: it reads the forward values it needs as inputs (saved). */
  const gb = new OnnxBuilder(OPSET, `${model.id}-backward`);
  let cur = g;
  let n = 0;
  const fresh = (hint: string) => `${hint.replace(/[^A-Za-z0-9_]/g, '_')}__${n++}`;
  type InitSpec = [number[], ArrayLike<number>, { type?: number } | undefined];
  const inits = new Map<string, InitSpec>();
  /** ONNX element types of the values that are not float (saved max-pool switches, ReLU masks). */
  const valueTypes = new Map<string, number>();
  const inB = new Set<string>(); // names the backward graph has (made there, an input, or a copied constant)
  const saved: { name: string; type: number }[] = [];
  /** In the backward graph, a name made by the forward one: a copied constant, or a saved value. */
  const bring = (name: string) => {
    if (cur !== gb || inB.has(name)) return;
    inB.add(name);
    const c = inits.get(name);
    if (c) gb.init(name, c[0], c[1], c[2]);
    else {
      const type = valueTypes.get(name) ?? FLOAT;
      gb.input(name, undefined, type);
      saved.push({ name, type });
    }
  };
  const init = (name: string, dims: number[], data: ArrayLike<number>, opts?: { type?: number }) => {
    inits.set(name, [dims, data, opts]);
    if (cur === gb) inB.add(name);
    return cur.init(name, dims, data, opts);
  };
  const node = (op: string, inputs: string[], attrs: Parameters<OnnxBuilder['node']>[2] = {}, outputs = 1): string[] => {
    for (const i of inputs) bring(i);
    const outs = Array.from({ length: outputs }, () => fresh(op));
    cur.node(op, inputs, attrs, outs, fresh(`${op}_node`));
    if (cur === gb) for (const o of outs) inB.add(o);
    return outs;
  };
  const one = (op: string, inputs: string[], attrs: Parameters<OnnxBuilder['node']>[2] = {}) => node(op, inputs, attrs)[0];
  const constF = (dims: number[], data: ArrayLike<number>) => init(fresh('c'), dims, data);
  const constI = (data: number[]) => init(fresh('i'), [data.length], data, { type: INT64 });
  const scalar = (v: number) => constF([], [v]);
  /** s^−β without Pow (ONNX Runtime's Pow is a scalar loop, 2× the time of these vectorised ops): Caffe's β = 0.75 as 1/(√s·√√s). */
  const negativePower = (t: string, beta: number) => {
    if (beta === 0.75) {
      const r = one('Sqrt', [t]);
      return one('Reciprocal', [one('Mul', [r, one('Sqrt', [r])])]);
    }
    if (beta === 0.5) return one('Reciprocal', [one('Sqrt', [t])]);
    return one('Exp', [one('Mul', [one('Log', [t]), scalar(-beta)])]);
  };

  const [C0, H0, W0] = graph.input.shape;
  if (graph.input.shape.length !== 3)
    throw new UserError(`model ${model.id}: the onnxruntime backend runs image models (C×H×W input), not ${graph.input.shape.join('×')}`);
  // At the boundary the layout is TensorFlow.js's (NHWC; [N, C] for vectors); inside, NCHW.
  g.input(INPUT, ['N', H0, W0, C0]);
  const X = one('Transpose', [INPUT], { perm: [0, 3, 1, 2] });

  /** Current ONNX value of each blob (in-place layers make new versions). */
  const value = new Map<string, string>([[graph.input.blob, X]]);
  const backs: { layer: Layer; ins: string[]; outs: string[]; back: Backward }[] = [];
  /** Values that are N×C×H×W here (a Caffe [C] blob may be N×C×1×1). */
  const rank4 = new Set<string>([X]);
  /** [N, …shape] as a Reshape target; a restricted blob's channel count is whatever was chosen. */
  const nchw = (blob: string) => (restricted.has(blob) ? [0, -1, ...shapes.get(blob)!.slice(1)] : [-1, ...shapes.get(blob)!]);
  /** The channel list of a restricted layer's blob, a forward-graph input (one restricted layer per blob). */
  const channelsOf = (l: Layer) => {
    const blob = restrictAt.get(l.name);
    if (!blob) return undefined;
    g.input(channelsName(blob), ['K'], INT32);
    return channelsName(blob);
  };
  /** `t`'s entries along `axis` at the chosen channels (none chosen: `t` itself). */
  const atChosen = (t: string, chosen: string | undefined, axis = 0) => (chosen ? one('Gather', [t, chosen], { axis }) : t);
  const params = (l: Layer): ParamBlob[] => {
    const p = graph.weights!.get(l.name);
    if (!p?.length) throw new UserError(`layer ${l.name}: no weights`);
    return p;
  };
  const refuse = (l: Layer, what: string): never => {
    throw new UserError(`layer ${l.name}: ${what} is not supported by the onnxruntime backend (use --backend wasm)`);
  };
  /** The value of `blob` at its own rank: [N, …shape] (a Caffe [C] blob held as N×C×1×1 is reshaped). */
  const exact = (v: string, blob: string) => (rank4.has(v) && shapes.get(blob)!.length !== 3 ? one('Reshape', [v, constI(nchw(blob))]) : v);
  const ops = (l: Layer): GraphOps => ({
    node,
    one,
    constF,
    constI,
    scalar,
    typed: (name, type) => valueTypes.set(name, type),
    grad: req.grad,
    refuse: (what) => refuse(l, what),
  });
  /** Per-channel constant shaped to broadcast over a blob of `rank` (2: [1,C]; 4: [1,C,1,1]). */
  const perChannel = (data: Float32Array, rank: number) => constF(rank === 2 ? [1, data.length] : [1, data.length, 1, 1], data);

  for (const l of layers) {
    const ins = l.bottoms.map((b) => {
      const v = value.get(b);
      if (!v) throw new UserError(`layer ${l.name}: unknown bottom blob "${b}"`);
      return v;
    });
    const x = ins[0];
    const inShape = shapes.get(l.bottoms[0]) ?? [];
    const rank = inShape.length + 1;
    let outs: string[];
    let back: Backward;
    if (isTensorLayer(l)) {
      // Tensor kinds compute on values of their blobs' own rank (a Caffe [C] blob may be N×C×1×1 here).
      const io = {
        ins: ins.map((v, i) => exact(v, l.bottoms[i])),
        inShapes: l.bottoms.map((b) => shapes.get(b)!),
        outShapes: l.tops.map((t) => shapes.get(t)!),
        params: graph.weights.get(l.name),
        input: X,
      };
      ({ outs, back } = tensorLayer(ops(l), l, io));
      l.tops.forEach((t, i) => value.set(t, outs[i]));
      for (const [i, t] of l.tops.entries()) if (shapes.get(t)!.length === 3) rank4.add(outs[i]);
      backs.push({ layer: l, ins: io.ins, outs, back });
      continue;
    }
    switch (l.kind) {
      case 'input':
        continue;
      case 'conv': {
        const [w, b] = params(l);
        const chosen = channelsOf(l);
        const W = atChosen(init(fresh(`${l.name}_w`), w.shape, w.data), chosen);
        const attrs = {
          kernel_shape: l.kernel,
          strides: l.stride,
          pads: [l.pad[0], l.pad[1], l.pad[0], l.pad[1]],
          dilations: l.dilation,
          group: l.group,
        };
        const convIn = [x, W];
        if (l.biasTerm && b) convIn.push(atChosen(init(fresh(`${l.name}_b`), [b.data.length], b.data), chosen));
        outs = [one('Conv', convIn, attrs)];
        const [, H, Wd] = inShape;
        const [, Ho, Wo] = shapes.get(l.tops[0])!;
        const op = (size: number, out: number, k: number, s: number, p: number, d: number) => size - ((out - 1) * s + (k - 1) * d + 1 - 2 * p);
        const outputPadding = [op(H, Ho, l.kernel[0], l.stride[0], l.pad[0], l.dilation[0]), op(Wd, Wo, l.kernel[1], l.stride[1], l.pad[1], l.dilation[1])];
        // Stride 1: the input gradient is a forward convolution with the filters flipped and their
        // in/out channels swapped per group (MLAS's fast path); otherwise ConvTranspose.
        const flipped = l.stride[0] === 1 && l.stride[1] === 1 && outputPadding[0] === 0 && outputPadding[1] === 0 ? flipFilters(w, l.group) : undefined;
        // Chosen channels: their flipped filters are gathered here, in the forward graph, and saved.
        const flippedChosen = flipped && chosen && req.grad ? atChosen(init(fresh(`${l.name}_wflip`), flipped.shape, flipped.data), chosen, 1) : undefined;
        back = ([gy]) => {
          if (!gy) return [undefined];
          if (!flipped) return [one('ConvTranspose', [gy, W], { ...attrs, output_padding: outputPadding })];
          const [kh, kw] = l.kernel;
          const [dh, dw] = l.dilation;
          const ph = (kh - 1) * dh - l.pad[0],
            pw = (kw - 1) * dw - l.pad[1];
          return [
            one('Conv', [gy, flippedChosen ?? init(fresh(`${l.name}_wflip`), flipped.shape, flipped.data)], {
              kernel_shape: l.kernel,
              strides: [1, 1],
              pads: [ph, pw, ph, pw],
              dilations: l.dilation,
              group: l.group,
            }),
          ];
        };
        break;
      }
      case 'fc': {
        const [w, b] = params(l);
        const chosen = channelsOf(l);
        const W = atChosen(init(fresh(`${l.name}_w`), [l.numOutput, w.data.length / l.numOutput], w.data), chosen);
        const flat = rank > 2 ? one('Flatten', [x], { axis: 1 }) : x;
        const gemmIn = [flat, W];
        if (l.biasTerm && b) gemmIn.push(atChosen(init(fresh(`${l.name}_b`), [b.data.length], b.data), chosen));
        outs = [one('Gemm', gemmIn, { transB: 1 })];
        const back2d = (gy: string) => one('MatMul', [gy, W]);
        back = ([gy]) => [gy && (rank > 2 ? one('Reshape', [back2d(gy), constI(nchw(l.bottoms[0]))]) : back2d(gy))];
        break;
      }
      case 'relu': {
        const y = l.negativeSlope === 0 ? one('Relu', [x]) : one('LeakyRelu', [x], { alpha: { f: l.negativeSlope } });
        outs = [y];
        const slope = l.negativeSlope;
        // The forward mask y > 0, saved as booleans (a quarter of y's bytes); deconv needs none.
        const positive = req.grad && req.grad !== 'deconv' ? one('Greater', [y, scalar(0)]) : undefined;
        if (positive) valueTypes.set(positive, BOOL);
        back = ([gy]) => {
          if (!gy) return [undefined];
          switch (req.grad ?? 'backprop') {
            case 'backprop':
              return [one('Where', [positive!, gy, slope === 0 ? scalar(0) : one('Mul', [gy, scalar(slope)])])];
            case 'deconv':
              return [one('Relu', [gy])];
            case 'guided':
              return [one('Where', [positive!, one('Relu', [gy]), scalar(0)])];
          }
        };
        break;
      }
      case 'pool': {
        if (rank !== 4) refuse(l, 'pooling of a non-spatial blob');
        const [C, H, W] = inShape;
        const [, OH, OW] = shapes.get(l.tops[0])!;
        const [kh, kw] = l.global ? [H, W] : l.kernel;
        const [sh, sw] = l.global ? [1, 1] : l.stride;
        const [ph, pw] = l.global ? [0, 0] : l.pad;
        const bottom = (OH - 1) * sh + kh - H - ph;
        const right = (OW - 1) * sw + kw - W - pw;
        if (bottom < 0 || right < 0) refuse(l, 'pooling whose last windows drop input rows or columns');
        const attrs = { kernel_shape: [kh, kw], strides: [sh, sw], dilations: [1, 1], pads: [ph, pw, bottom, right] };
        if (l.method === 'max') ({ outs, back } = maxPoolOnnx(ops(l), x, C, [H, W], attrs));
        else {
          // Caffe's divisor: the window clipped to [−p, in + p) (padding counts, the ceil overhang does not).
          const inv = new Float32Array(OH * OW);
          for (let i = 0; i < OH; i++)
            for (let j = 0; j < OW; j++) {
              const hs = i * sh - ph,
                ws = j * sw - pw;
              inv[i * OW + j] = 1 / ((Math.min(hs + kh, H + ph) - hs) * (Math.min(ws + kw, W + pw) - ws));
            }
          ({ outs, back } = avgPoolOnnx(ops(l), x, C, [H, W], [OH, OW], inv, attrs, H * W));
        }
        break;
      }
      case 'lrn': {
        if (rank !== 4) refuse(l, 'LRN of a non-spatial blob');
        const size = l.localSize;
        if (size % 2 === 0) {
          // ONNX's window for an even size is Caffe's; only the gradient below assumes a centred one.
          if (req.grad) refuse(l, 'the gradient of an LRN with an even local_size');
          outs = [one('LRN', [x], { size, alpha: { f: l.alpha }, beta: { f: l.beta }, bias: { f: l.k } })];
          back = () => [undefined];
          break;
        }
        // Spelled out (ONNX Runtime's LRN kernel is slower than this; s and s^−β serve both passes):
        // s = k + α/n·Σ_window x², y = x·s^−β, dx = g·s^−β − 2αβ/n · x · Σ_window(g·x·s^−β / s).
        const [C, H, W] = inShape;
        const half = (size - 1) / 2;
        const kernel = constF([1, 1, size, 1], new Float32Array(size).fill(1));
        const winsum = (t: string) =>
          one('Reshape', [
            one('Conv', [one('Reshape', [t, constI([-1, 1, C, H * W])]), kernel], { kernel_shape: [size, 1], pads: [half, 0, half, 0] }),
            constI([-1, C, H, W]),
          ]);
        const s = one('Add', [one('Mul', [winsum(one('Mul', [x, x])), scalar(l.alpha / size)]), scalar(l.k)]);
        const p = negativePower(s, l.beta);
        outs = [one('Mul', [x, p])];
        back = ([gy]) => {
          if (!gy) return [undefined];
          const inner = winsum(one('Div', [one('Mul', [one('Mul', [gy, x]), p]), s]));
          return [one('Sub', [one('Mul', [gy, p]), one('Mul', [one('Mul', [x, inner]), scalar((2 * l.alpha * l.beta) / size)])])];
        };
        break;
      }
      case 'concat': {
        if (l.axis !== 1) refuse(l, `Concat along axis ${l.axis}`);
        outs = [one('Concat', ins, { axis: 1 })];
        const sizes = l.bottoms.map((b) => shapes.get(b)![0]);
        back = ([gy]) => (gy ? node('Split', [gy, constI(sizes)], { axis: 1 }, sizes.length) : sizes.map(() => undefined));
        break;
      }
      case 'identity':
        outs = l.tops.map(() => x);
        back = (gs) => [gs.filter((s): s is string => Boolean(s)).reduce<string | undefined>((a, b) => (a ? one('Add', [a, b]) : b), undefined)];
        break;
      case 'softmax': {
        const y = one('Softmax', [x], { axis: 1 });
        outs = [y];
        back = ([gy]) => [gy && one('Mul', [y, one('Sub', [gy, one('ReduceSum', [one('Mul', [gy, y]), constI([1])], { keepdims: 1 })])])];
        break;
      }
      case 'flatten':
        outs = [rank > 2 ? one('Flatten', [x], { axis: 1 }) : x];
        back = ([gy]) => [gy && (rank > 2 ? one('Reshape', [gy, constI(nchw(l.bottoms[0]))]) : gy)];
        break;
      case 'eltwise': {
        if (l.op === 'sum') {
          const c = l.coeffs.length ? l.coeffs : ins.map(() => 1);
          if (c.length !== ins.length) throw new UserError(`layer ${l.name}: ${c.length} coefficients for ${ins.length} inputs`);
          const terms = ins.map((t, i) => (c[i] === 1 ? t : one('Mul', [t, scalar(c[i])])));
          outs = [terms.length === 1 ? terms[0] : one('Sum', terms)];
          back = ([gy]) => c.map((ci) => gy && (ci === 1 ? gy : one('Mul', [gy, scalar(ci)])));
        } else if (l.op === 'prod') {
          outs = [ins.slice(1).reduce((a, b) => one('Mul', [a, b]), ins[0])];
          back = ([gy]) => ins.map((_, i) => gy && ins.reduce((a, t, j) => (j === i ? a : one('Mul', [a, t])), gy));
        } else {
          outs = [one('Max', ins)];
          back = () => refuse(l, 'the gradient of Eltwise MAX');
        }
        break;
      }
      case 'scale':
      case 'batchnorm': {
        const { a, b } = l.kind === 'scale' ? scaleAffine(l, graph.weights.get(l.name)) : batchNormAffine(l, graph.weights.get(l.name));
        const A = perChannel(a, rank);
        const ax = one('Mul', [x, A]);
        outs = [b ? one('Add', [ax, perChannel(b, rank)]) : ax];
        back = ([gy]) => [gy && one('Mul', [gy, A])];
        break;
      }
      default:
        refuse(l, `layer kind ${(l as Layer).kind}`);
        continue;
    }
    l.tops.forEach((t, i) => value.set(t, outs[i]));
    const four = l.kind === 'conv' || l.kind === 'pool' || l.kind === 'lrn' || l.kind === 'concat' || (l.kind !== 'fc' && l.kind !== 'flatten' && rank4.has(x));
    if (four) for (const o of outs) rank4.add(o);
    backs.push({ layer: l, ins, outs, back: back! });
  }

  const outputs = req.blobs.map((b) => value.get(b)!);
  /** Channels last for blobs of 2+ axes (NHWC for C×H×W), [N, C] for [C], [N] for a per-image scalar. */
  const toLayout = (v: string, blob: string) => {
    const r = shapes.get(blob)!.length;
    if (r === 0) return one('Reshape', [v, constI([-1])]);
    if (r === 1) return one('Flatten', [v], { axis: 1 });
    return one('Transpose', [exact(v, blob)], { perm: [0, ...Array.from({ length: r - 1 }, (_, i) => i + 2), 1] });
  };
  /** NHWC for C×H×W blobs, [N, C] for the rest (a Caffe [C] blob may be an N×C×1×1 value here). */
  function forwardOutputs(): string[] {
    cur = g;
    const named = req.blobs.map((b, i) => toLayout(outputs[i], b));
    for (const o of named) g.output(o);
    return named;
  }
  if (req.scan) {
    const scan = scanOutputs(req.scan);
    return { bytes: g.bytes(), outputs: [], scan };
  }
  /**
   * The scan's reductions in the graph: only [N, C] maxima and positions (and the class
   * products) leave ONNX Runtime instead of every tracked blob, transposed, for JavaScript to reduce.
   */
  function scanOutputs(r: ScanReduceRequest): ScanOutputs {
    cur = g;
    const at = (b: string) => {
      const v = value.get(b);
      if (!v) throw new UserError(`model ${model.id} has no blob "${b}" in this graph`);
      return v;
    };
    const maxima = new Map<string, string>();
    const positions: (string | null)[] = [];
    for (const b of r.blobs) {
      const s = shapes.get(b)!;
      if (s.length !== 3 && s.length !== 1) throw new UserError(`blob "${b}" (${s.join('×')}): a scan tracks C×H×W and [C] blobs`);
      if (s.length === 3) {
        const flat = one('Reshape', [at(b), constI([0, s[0], -1])]);
        maxima.set(b, one('ReduceMax', [flat, constI([2])], { keepdims: 0 }));
        const am = one('Cast', [one('ArgMax', [flat], { axis: 2, keepdims: 0, select_last_index: 0 })], { to: INT32 });
        g.output(am, INT32);
        positions.push(am);
      } else {
        maxima.set(b, one('Flatten', [at(b)], { axis: 1 }));
        positions.push(null);
      }
    }
    const values = r.blobs.map((b) => maxima.get(b)!);
    for (const v of values) g.output(v);
    let probs: string | null = null;
    let cross: string | null = null;
    if (r.probBlob) {
      probs = one('Flatten', [at(r.probBlob)], { axis: 1 });
      g.output(probs);
      if (r.corrBlobs.length > 0) {
        const acts =
          r.corrBlobs.length === 1
            ? maxima.get(r.corrBlobs[0])!
            : one(
                'Concat',
                r.corrBlobs.map((b) => maxima.get(b)!),
                { axis: 1 },
              );
        cross = one('Gemm', [acts, probs], { transA: 1 });
        g.output(cross);
      }
    }
    return { values, positions, probs, cross };
  }
  if (!req.grad) {
    const named = forwardOutputs();
    return { bytes: g.bytes(), outputs: named };
  }

  // Backward, as its own graph: seeds on the requested blobs, then every layer in reverse, summing
  // where values fan out. The forward values it reads become its inputs and the forward graph's
  // outputs (saved), so the forward pass is not computed twice.
  cur = gb;
  const grads = new Map<string, string>();
  const addGrad = (v: string, gv: string | undefined) => {
    if (!gv) return;
    const prev = grads.get(v);
    grads.set(v, prev ? one('Add', [prev, gv]) : gv);
  };
  req.blobs.forEach((b, i) => {
    const s = shapes.get(b)!;
    const seed = seedName(b);
    inB.add(seed);
    const channels = restricted.has(b) ? 'K' : s[0];
    if (s.length >= 2) {
      const r = s.length;
      gb.input(seed, ['N', ...s.slice(1), channels]);
      addGrad(outputs[i], one('Transpose', [seed], { perm: [0, r, ...Array.from({ length: r - 1 }, (_, k) => k + 1)] }));
    } else if (s.length === 0) {
      gb.input(seed, ['N']);
      addGrad(outputs[i], seed);
    } else {
      gb.input(seed, ['N', channels]);
      // Caffe's [C] may be an N×C×1×1 value here.
      addGrad(outputs[i], rank4.has(outputs[i]) ? one('Reshape', [seed, constI([0, -1, 1, 1])]) : seed);
    }
  });
  for (let i = backs.length - 1; i >= 0; i--) {
    const { ins, outs, back } = backs[i];
    const gOut = outs.map((o, j) => (outs.indexOf(o) === j ? grads.get(o) : undefined));
    if (gOut.every((x) => !x)) continue;
    for (const o of new Set(outs)) grads.delete(o);
    const gIn = back(gOut);
    ins.forEach((v, j) => addGrad(v, gIn[j]));
  }
  const gx = grads.get(X);
  if (!gx) throw new UserError(`model ${model.id}: no gradient reaches the input from ${req.blobs.join(', ')}`);
  gb.node('Transpose', [gx], { perm: [0, 2, 3, 1] }, [INPUT_GRAD], 'input_grad_node');
  gb.output(INPUT_GRAD);

  // The forward graph: the requested blobs, then the saved values.
  const named = forwardOutputs();
  for (const s of saved) g.output(s.name, s.type);
  return { bytes: g.bytes(), outputs: named, backward: { bytes: gb.bytes(), saved } };
}
