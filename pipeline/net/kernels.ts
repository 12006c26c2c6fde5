import * as tf from '@tensorflow/tfjs';

/**
 * Max-pooling input gradient as a plain loop over the backend's own memory, for the CPU-side
 * backends (wasm, cpu). tfjs's wasm MaxPoolGrad recomputes every window for every input pixel
 * (~100 ms per image for one SqueezeNet pool); this routes each output's gradient to the first
 * maximum of its window (row-major, as Caffe and tfjs do) in one pass. Windows follow Caffe's
 * loop: start at i·s − pad, clipped to the input.
 */
export const MAX_POOL_GRAD = 'DeepvisMaxPoolGrad';

export interface PoolGeometry { kh: number; kw: number; sh: number; sw: number; pt: number; pl: number }

function maxPoolBackward(x: Float32Array, dy: Float32Array, dx: Float32Array, xShape: number[], dyShape: number[], g: PoolGeometry) {
  const [N, H, W, C] = xShape, [, OH, OW] = dyShape;
  dx.fill(0);
  const best = new Float32Array(C), at = new Int32Array(C);
  for (let n = 0; n < N; n++)
    for (let i = 0; i < OH; i++) {
      const h0 = Math.max(i * g.sh - g.pt, 0), h1 = Math.min(i * g.sh - g.pt + g.kh, H);
      for (let j = 0; j < OW; j++) {
        const w0 = Math.max(j * g.sw - g.pl, 0), w1 = Math.min(j * g.sw - g.pl + g.kw, W);
        best.fill(Number.NEGATIVE_INFINITY);
        at.fill(-1);
        for (let y = h0; y < h1; y++)
          for (let xx = w0; xx < w1; xx++) {
            const base = ((n * H + y) * W + xx) * C;
            for (let c = 0; c < C; c++) {
              const v = x[base + c];
              if (v > best[c]) {
                best[c] = v;
                at[c] = base + c;
              }
            }
          }
        const o = ((n * OH + i) * OW + j) * C;
        for (let c = 0; c < C; c++) if (at[c] >= 0) dx[at[c]] += dy[o + c];
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
  const [b0, b1, b2, b3] = begin, [s0, s1, s2, s3] = size;
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
  const emit = run >= 32
    ? (src: number) => { out.set(x.subarray(src, src + run), o); o += run; }
    : (src: number) => { for (let k = 0; k < run; k++) out[o++] = x[src + k]; };
  for (let n = b0; n < b0 + s0; n++) for (let h = b1; h < b1 + s1; h++) rows(n, h, emit);
}

interface WasmLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}
interface CpuLike {
  data: { get(id: tf.DataId): { values: Float32Array } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

let registered = false;
function register() {
  if (registered) return;
  registered = true;
  const sliceAttrs = (attrs: unknown) => attrs as { begin: number[]; size: number[] };
  tf.registerKernel({
    kernelName: SLICE4,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmLike;
      const { x } = inputs as { x: tf.TensorInfo };
      const { begin, size } = sliceAttrs(attrs);
      const out = b.makeOutput(size, 'float32');
      slice4(b.typedArrayFromHeap(x), x.shape, begin, size, b.typedArrayFromHeap(out));
      return out;
    },
  });
  tf.registerKernel({
    kernelName: SLICE4,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as CpuLike;
      const { x } = inputs as { x: tf.TensorInfo };
      const { begin, size } = sliceAttrs(attrs);
      const out = new Float32Array(size.reduce((a, v) => a * v, 1));
      slice4(b.data.get(x.dataId).values, x.shape, begin, size, out);
      return b.makeTensorInfo(size, 'float32', out);
    },
  });
  tf.registerKernel({
    kernelName: MAX_POOL_GRAD,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as WasmLike;
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const out = b.makeOutput(x.shape, 'float32');
      // Views after the allocation (it may grow the heap).
      maxPoolBackward(b.typedArrayFromHeap(x), b.typedArrayFromHeap(dy), b.typedArrayFromHeap(out), x.shape, dy.shape, attrs as unknown as PoolGeometry);
      return out;
    },
  });
  tf.registerKernel({
    kernelName: MAX_POOL_GRAD,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const b = backend as unknown as CpuLike;
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const dx = new Float32Array(x.shape.reduce((a, s) => a * s, 1));
      maxPoolBackward(b.data.get(x.dataId).values, b.data.get(dy.dataId).values, dx, x.shape, dy.shape, attrs as unknown as PoolGeometry);
      return b.makeTensorInfo(x.shape, 'float32', dx);
    },
  });
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

/** dx of a Caffe max pool over x (unpadded NHWC), from dy. CPU-side backends only. */
export function maxPoolGrad(x: tf.Tensor4D, dy: tf.Tensor4D, g: PoolGeometry): tf.Tensor4D {
  register();
  return tf.engine().runKernel(MAX_POOL_GRAD, { x, dy }, g as unknown as tf.NamedAttrMap) as tf.Tensor4D;
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
