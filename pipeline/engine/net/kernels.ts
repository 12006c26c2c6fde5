import * as tf from '@tensorflow/tfjs-core';

/**
 * Max-pooling input gradient as a plain loop over the backend's own memory, for the CPU-side
 * backends (wasm, cpu). tfjs's wasm MaxPoolGrad recomputes every window for every input pixel
 * (~100 ms per image for one SqueezeNet pool); this routes each nonzero output gradient to the
 * first position of its window (row-major, as Caffe and tfjs do) that holds the forward maximum y.
 * Windows follow Caffe's loop: start at i·s − pad, clipped to the input.
 */
export const MAX_POOL_GRAD = 'DeepvisMaxPoolGrad';

export interface PoolGeometry {
  kh: number;
  kw: number;
  sh: number;
  sw: number;
  pt: number;
  pl: number;
}

function maxPoolBackward(x: Float32Array, y: Float32Array, dy: Float32Array, dx: Float32Array, xShape: number[], dyShape: number[], g: PoolGeometry) {
  const [N, H, W, C] = xShape,
    [, OH, OW] = dyShape;
  dx.fill(0);
  const offs = new Int32Array(g.kh * g.kw);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < OH; i++) {
      const h0 = Math.max(i * g.sh - g.pt, 0),
        h1 = Math.min(i * g.sh - g.pt + g.kh, H);
      for (let j = 0; j < OW; j++) {
        const w0 = Math.max(j * g.sw - g.pl, 0),
          w1 = Math.min(j * g.sw - g.pl + g.kw, W);
        let m = 0;
        for (let yy = h0; yy < h1; yy++) for (let xx = w0; xx < w1; xx++) offs[m++] = ((n * H + yy) * W + xx) * C;
        const o = ((n * OH + i) * OW + j) * C;
        for (let c = 0; c < C; c++) {
          const grad = dy[o + c];
          if (grad === 0) continue;
          // The first window position (row-major) holding the maximum: Caffe's switch.
          const target = y[o + c];
          let q = 0;
          while (q < m - 1 && x[offs[q] + c] !== target) q++;
          dx[offs[q] + c] += grad;
        }
      }
    }
}

/**
 * 4-D slice (crop / channel split) by contiguous runs straight over backend memory. tfjs-wasm's
 * Slice first copies its whole input out of the heap and then copies each innermost row with a
 * typed-array call (38 ms to crop one 8×228×228×3 gradient by a pixel).
 */
export const SLICE4 = 'DeepvisSlice4D';

function slice4(x: Float32Array, xs: number[], begin: number[], size: number[], out: Float32Array) {
  const [, H, W, C] = xs;
  const [b0, b1, b2, b3] = begin,
    [s0, s1, s2, s3] = size;
  let run: number, rows: (n: number, h: number, emit: (src: number) => void) => void;
  if (s3 === C) {
    run = s2 * C;
    rows = (n, h, emit) => emit(((n * H + h) * W + b2) * C);
  } else {
    run = s3;
    rows = (n, h, emit) => {
      for (let w = b2; w < b2 + s2; w++) emit(((n * H + h) * W + w) * C + b3);
    };
  }
  let o = 0;
  const emit =
    run >= 32
      ? (src: number) => {
          out.set(x.subarray(src, src + run), o);
          o += run;
        }
      : (src: number) => {
          for (let k = 0; k < run; k++) out[o++] = x[src + k];
        };
  for (let n = b0; n < b0 + s0; n++) for (let h = b1; h < b1 + s1; h++) rows(n, h, emit);
}

/**
 * Caffe LRN across channels on NHWC, forward and input gradient, with a sliding window sum per
 * pixel (tfjs-wasm's LRN/LRNGrad cost ~10× more). s = k + α/n·Σ_window x², y = x·s^−β;
 * dx_i = dy_i·s_i^−β − (2αβ/n)·x_i·Σ_{j: i ∈ window(j)} dy_j·y_j/s_j.
 */
export const LRN = 'DeepvisLRN';
export const LRN_GRAD = 'DeepvisLRNGrad';
export interface LrnParams {
  size: number;
  alpha: number;
  beta: number;
  k: number;
}

const negPow = (s: number, beta: number) => (beta === 0.75 ? 1 / Math.sqrt(s * Math.sqrt(s)) : s ** -beta);

function lrnForward(x: Float32Array, y: Float32Array, sc: Float32Array, C: number, p: LrnParams) {
  const r = (p.size - 1) / 2,
    an = p.alpha / p.size;
  for (let base = 0; base < x.length; base += C) {
    let sum = 0;
    for (let c = 0; c < Math.min(r, C); c++) sum += x[base + c] * x[base + c];
    for (let c = 0; c < C; c++) {
      if (c + r < C) sum += x[base + c + r] * x[base + c + r];
      if (c - r - 1 >= 0) sum -= x[base + c - r - 1] * x[base + c - r - 1];
      const s = p.k + an * Math.max(sum, 0);
      sc[base + c] = s;
      y[base + c] = x[base + c] * negPow(s, p.beta);
    }
  }
}

function lrnBackward(x: Float32Array, y: Float32Array, sc: Float32Array, dy: Float32Array, dx: Float32Array, C: number, p: LrnParams) {
  const r = (p.size - 1) / 2,
    f = (2 * p.alpha * p.beta) / p.size;
  const t = new Float64Array(C);
  for (let base = 0; base < x.length; base += C) {
    for (let c = 0; c < C; c++) t[c] = (dy[base + c] * y[base + c]) / sc[base + c];
    let sum = 0;
    for (let c = 0; c < Math.min(r, C); c++) sum += t[c];
    for (let c = 0; c < C; c++) {
      if (c + r < C) sum += t[c + r];
      if (c - r - 1 >= 0) sum -= t[c - r - 1];
      dx[base + c] = dy[base + c] * negPow(sc[base + c], p.beta) - f * x[base + c] * sum;
    }
  }
}

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}
interface CpuLike {
  data: { get(id: tf.DataId): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

/** A float32 kernel written as a plain loop over the tensors' memory, for the wasm and cpu backends. */
interface LoopKernel {
  name: string;
  /** Input names, in the order `run` receives them. */
  inputs: string[];
  /** Shapes of the outputs (one entry per output). */
  outShapes(ins: tf.TensorInfo[], attrs: tf.NamedAttrMap): number[][];
  run(ins: Float32Array[], outs: Float32Array[], shapes: number[][], attrs: tf.NamedAttrMap): void;
}

const size = (shape: number[]) => shape.reduce((a, v) => a * v, 1);

/** Registers one loop kernel on both CPU-side backends: wasm (tensors on its heap) and cpu (JS arrays). */
function registerLoopKernel(k: LoopKernel): void {
  const pick = (inputs: tf.NamedTensorInfoMap) =>
    k.inputs.map((n) => {
      const t = inputs[n];
      if (!t) throw new Error(`kernel ${k.name}: input "${n}" missing`);
      return t;
    });
  tf.registerKernel({
    kernelName: k.name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs = {} }) => {
      const b = backend as unknown as WasmLike;
      const ins = pick(inputs);
      const outs = k.outShapes(ins, attrs).map((s) => b.makeOutput(s, 'float32'));
      // Views after the allocations (they may grow the heap).
      const view = (t: tf.TensorInfo) => b.typedArrayFromHeap(t);
      k.run(
        ins.map(view),
        outs.map(view),
        ins.map((t) => t.shape),
        attrs,
      );
      return outs.length === 1 ? outs[0] : outs;
    },
  });
  tf.registerKernel({
    kernelName: k.name,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs = {} }) => {
      const b = backend as unknown as CpuLike;
      const ins = pick(inputs);
      const shapes = k.outShapes(ins, attrs);
      const outs = shapes.map((s) => new Float32Array(size(s)));
      k.run(
        ins.map((t) => b.data.get(t.dataId).values),
        outs,
        ins.map((t) => t.shape),
        attrs,
      );
      const infos = outs.map((o, i) => b.makeTensorInfo(shapes[i], 'float32', o));
      return infos.length === 1 ? infos[0] : infos;
    },
  });
}

const lrnAttrs = (a: tf.NamedAttrMap) => a as unknown as LrnParams;
const sliceAttrs = (a: tf.NamedAttrMap) => a as unknown as { begin: number[]; size: number[] };

const LOOP_KERNELS: LoopKernel[] = [
  {
    name: LRN,
    inputs: ['x'],
    outShapes: ([x]) => [x.shape, x.shape],
    run: ([x], [y, sc], [shape], a) => lrnForward(x, y, sc, shape[3], lrnAttrs(a)),
  },
  {
    name: LRN_GRAD,
    inputs: ['x', 'y', 's', 'dy'],
    outShapes: ([x]) => [x.shape],
    run: ([x, y, s, dy], [dx], [shape], a) => lrnBackward(x, y, s, dy, dx, shape[3], lrnAttrs(a)),
  },
  {
    name: SLICE4,
    inputs: ['x'],
    outShapes: (_, a) => [sliceAttrs(a).size],
    run: ([x], [out], [shape], a) => slice4(x, shape, sliceAttrs(a).begin, sliceAttrs(a).size, out),
  },
  {
    name: MAX_POOL_GRAD,
    inputs: ['x', 'y', 'dy'],
    outShapes: ([x]) => [x.shape],
    run: ([x, y, dy], [dx], [xs, , dys], a) => maxPoolBackward(x, y, dy, dx, xs, dys, a as unknown as PoolGeometry),
  },
];

let registered = false;
function register() {
  if (registered) return;
  registered = true;
  for (const k of LOOP_KERNELS) registerLoopKernel(k);
}

let enabled = true;
/** Turns the loop kernels off (tests: exercise the fallback the GPU backends take). */
export function setLoopKernels(on: boolean): void {
  enabled = on;
}

/** Whether the current backend runs the loop kernels above (CPU-side memory). */
export function hasLoopKernels(): boolean {
  const b = tf.getBackend();
  return enabled && (b === 'wasm' || b === 'cpu');
}

/** The executor's own kernels that GPU backends register (webgpu: ./webgpu-kernels.ts), by kernel name. */
const ownKernels = new Map<string, Set<string>>();
export function addOwnKernel(kernel: string, backend: string): void {
  if (!ownKernels.has(kernel)) ownKernels.set(kernel, new Set());
  ownKernels.get(kernel)!.add(backend);
}
const hasOwn = (kernel: string) => enabled && (ownKernels.get(kernel)?.has(tf.getBackend()) ?? false);

/** Whether maxPoolGrad below runs on the current backend (else the executor takes tfjs's MaxPoolGrad). */
export function hasMaxPoolGrad(): boolean {
  return hasLoopKernels() || hasOwn(MAX_POOL_GRAD);
}

/** dx of a Caffe max pool y of x (unpadded NHWC), from dy, where hasMaxPoolGrad(). */
export function maxPoolGrad(x: tf.Tensor4D, y: tf.Tensor4D, dy: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  register();
  return tf.engine().runKernel(MAX_POOL_GRAD, { x, y, dy }, g as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** tf.slice of a float32 NHWC tensor (not differentiable: for use inside gradient functions). */
export function slice4d(x: tf.Tensor4D, begin: number[], size: number[]): tf.Tensor4D {
  const sz = size.map((v, i) => (v < 0 ? x.shape[i] - begin[i] : v));
  if (!hasLoopKernels() || x.dtype !== 'float32') return tf.slice(x, begin, sz);
  register();
  return tf.engine().runKernel(SLICE4, { x }, { begin, size: sz }) as tf.Tensor4D;
}

/** Splits an NHWC tensor along channels into parts of the given sizes (not differentiable). */
export function splitChannels(x: tf.Tensor4D, sizes: number[]): tf.Tensor4D[] {
  let c = 0;
  return sizes.map((s) => {
    const part = slice4d(x, [0, 0, 0, c], [-1, -1, -1, s]);
    c += s;
    return part;
  });
}

/** Caffe LRN across channels with its input gradient, by the loop kernels (CPU-side backends). */
export function lrnLoop(x: tf.Tensor4D, p: LrnParams): tf.Tensor4D {
  register();
  const attrs = p as unknown as tf.NamedAttrMap;
  return tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, s] = tf.engine().runKernel(LRN, { x: xi }, attrs) as tf.Tensor4D[];
    save([xi, y, s]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xs, ys, ss]: tf.Tensor[]) => tf.engine().runKernel(LRN_GRAD, { x: xs, y: ys, s: ss, dy }, attrs) as tf.Tensor,
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0])(x) as tf.Tensor4D;
}

/**
 * LRN_GRAD_FROM_Y: the LRN input gradient from x, y and dy alone (the scale s is recomputed from
 * x's window), for GPU backends whose LRN forward is tfjs's own (one output). tfjs-webgpu's
 * LRNGrad loops over every channel pair of a pixel (O(C²); 7 minutes for one GoogLeNet norm2
 * gradient on SwiftShader); the window form is O(size²).
 */
export const LRN_GRAD_FROM_Y = 'DeepvisLRNGradFromY';

/** Whether lrnOwnGrad below runs on the current backend. */
export function hasLrnGrad(): boolean {
  return hasOwn(LRN_GRAD_FROM_Y);
}

/** Caffe LRN across channels: tfjs's forward, the executor's gradient kernel (where hasLrnGrad()). */
export function lrnOwnGrad(x: tf.Tensor4D, p: LrnParams): tf.Tensor4D {
  const attrs = p as unknown as tf.NamedAttrMap;
  return tf.customGrad(((xi: tf.Tensor, save: tf.GradSaveFunc) => {
    const y = tf.localResponseNormalization(xi as tf.Tensor4D, (p.size - 1) / 2, p.k, p.alpha / p.size, p.beta);
    save([xi, y]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, [xs, ys]: tf.Tensor[]) => tf.engine().runKernel(LRN_GRAD_FROM_Y, { x: xs, y: ys, dy }, attrs) as tf.Tensor,
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0])(x) as tf.Tensor4D;
}
