/**
 * Caffe parameter layouts → TensorFlow.js layouts, on plain Float32Arrays (done once per net).
 * Caffe conv weights are [out, in/group, kh, kw]; tfjs filters are HWIO. The input-gradient filters
 * turn the transposed convolution into a forward convolution (see docs/net.md).
 */

/** A 4-D float array with its shape. */
export interface Arr4 {
  shape: [number, number, number, number];
  data: Float32Array;
}

/** The weights of one group of a grouped convolution, still in Caffe's [O, I, kh, kw] layout. */
export function groupWeights(w: Float32Array, out: number, inPerGroup: number, kh: number, kw: number, group: number, g: number): Arr4 {
  const og = out / group;
  const size = og * inPerGroup * kh * kw;
  return { shape: [og, inPerGroup, kh, kw], data: w.subarray(g * size, (g + 1) * size) };
}

/** Caffe [O, I, kh, kw] → HWIO [kh, kw, I, O]. */
export function toHwio(w: Arr4): Arr4 {
  const [O, I, KH, KW] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let u = 0; u < KH; u++) for (let v = 0; v < KW; v++) out[((u * KW + v) * I + i) * O + o] = w.data[((o * I + i) * KH + u) * KW + v];
  return { shape: [KH, KW, I, O], data: out };
}

/** Inserts the dilation holes into a Caffe kernel: [O, I, kh, kw] → [O, I, d(kh-1)+1, d(kw-1)+1]. */
export function dilateKernel(w: Arr4, dh: number, dw: number): Arr4 {
  if (dh === 1 && dw === 1) return w;
  const [O, I, KH, KW] = w.shape;
  const EH = dh * (KH - 1) + 1,
    EW = dw * (KW - 1) + 1;
  const out = new Float32Array(O * I * EH * EW);
  for (let oi = 0; oi < O * I; oi++)
    for (let u = 0; u < KH; u++) for (let v = 0; v < KW; v++) out[(oi * EH + u * dh) * EW + v * dw] = w.data[(oi * KH + u) * KW + v];
  return { shape: [O, I, EH, EW], data: out };
}

/**
 * Filter (HWIO) of the forward convolution that computes the input gradient of a stride-1
 * convolution: spatially flipped, input and output channels swapped: G[u, v, o, i] = W[o, i, kh-1-u, kw-1-v].
 */
export function flippedTransposed(w: Arr4): Arr4 {
  const [O, I, KH, KW] = w.shape;
  const out = new Float32Array(w.data.length);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let u = 0; u < KH; u++)
        for (let v = 0; v < KW; v++) out[((u * KW + v) * O + o) * I + i] = w.data[((o * I + i) * KH + (KH - 1 - u)) * KW + (KW - 1 - v)];
  return { shape: [KH, KW, O, I], data: out };
}

/**
 * A stride-(sh, sw) convolution equals a stride-1 convolution of the space-to-depth input
 * (block sh×sw; channel index (a*sw + b)*I + i, as tf.depthToSpace orders it) with the kernel
 * W2[o, (a, b, i), u', v'] = W[o, i, sh*u' + a, sw*v' + b] (zero past the kernel), of size
 * ceil(kh/sh) × ceil(kw/sw). Returns W2 in Caffe layout.
 */
export function spaceToDepthKernel(w: Arr4, sh: number, sw: number): Arr4 {
  const [O, I, KH, KW] = w.shape;
  const kh2 = Math.ceil(KH / sh),
    kw2 = Math.ceil(KW / sw);
  const C2 = sh * sw * I;
  const out = new Float32Array(O * C2 * kh2 * kw2);
  for (let o = 0; o < O; o++)
    for (let i = 0; i < I; i++)
      for (let u = 0; u < KH; u++)
        for (let v = 0; v < KW; v++) {
          const a = u % sh,
            b = v % sw;
          const c2 = (a * sw + b) * I + i;
          out[((o * C2 + c2) * kh2 + Math.floor(u / sh)) * kw2 + Math.floor(v / sw)] = w.data[((o * I + i) * KH + u) * KW + v];
        }
  return { shape: [O, C2, kh2, kw2], data: out };
}

/**
 * Caffe InnerProduct weights [out, C*H*W] (input flattened in C,H,W order) → [H*W*C, out] for
 * x.reshape([N, H*W*C]) · W with x in NHWC: the rows are permuted once here instead of
 * transposing every activation.
 */
export function fcWeights(w: Float32Array, out: number, c: number, h: number, wd: number): Float32Array {
  const inSize = c * h * wd;
  const res = new Float32Array(out * inSize);
  for (let o = 0; o < out; o++) {
    const row = o * inSize;
    for (let ci = 0; ci < c; ci++)
      for (let y = 0; y < h; y++) for (let x = 0; x < wd; x++) res[((y * wd + x) * c + ci) * out + o] = w[row + (ci * h + y) * wd + x];
  }
  return res;
}
