/**
 * The executor's own kernels on the WebGPU backend (WGSL programs run by tfjs-backend-webgpu),
 * registered when that backend starts (engine/backend.ts).
 *
 * - MAX_POOL_GRAD: Caffe's max-pool switch — each output gradient goes to the FIRST position of
 *   its window (row-major, window clipped to the input) that holds the forward maximum, as the
 *   CPU loop kernel (./kernels.ts) does. tfjs-webgpu's own MaxPoolGrad takes the last position
 *   among equal values: where a window is all zeros after a ReLU (common), its deconv
 *   gradients went to other pixels than on every other backend.
 * - LRN_GRAD_FROM_Y: Caffe LRN's input gradient over each channel's window (O(size²) per value),
 *   where tfjs-webgpu's LRNGrad walks every channel pair of a pixel (O(C²)).
 */
import * as tf from '@tensorflow/tfjs-core';
import { type WebGPUBackend, type WebGPUProgram, webgpu_util } from '@tensorflow/tfjs-backend-webgpu';
import { addOwnKernel, LRN_GRAD_FROM_Y, type LrnParams, MAX_POOL_GRAD, type PoolGeometry } from './kernels.ts';

/** dx[n, h, w, c] = Σ over the windows containing (h, w) whose switch is (h, w) of dy. */
class MaxPoolGradProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'deepvisMaxPoolGrad';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames = ['x', 'ymax', 'dy'];
  uniforms = 'kernel : vec2<i32>, stride : vec2<i32>, pad : vec2<i32>,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(xShape: number[]) {
    this.outputShape = xShape;
    this.dispatchLayout = webgpu_util.flatDispatchLayout(this.outputShape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, this.outputShape, this.workgroupSize);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index >= uniforms.size) {
          return;
        }
        let coords = getCoordsFromIndex(index);
        let n = coords[0];
        let h = coords[1];
        let w = coords[2];
        let c = coords[3];
        let H = uniforms.xShape[1];
        let W = uniforms.xShape[2];
        let OH = uniforms.dyShape[1];
        let OW = uniforms.dyShape[2];
        let k = uniforms.kernel;
        let s = uniforms.stride;
        let p = uniforms.pad;
        // Windows i with i·s − p ≤ h < i·s − p + k.
        var i0 = 0;
        if (h + p.x - k.x >= 0) {
          i0 = (h + p.x - k.x) / s.x + 1;
        }
        let i1 = min(OH - 1, (h + p.x) / s.x);
        var j0 = 0;
        if (w + p.y - k.y >= 0) {
          j0 = (w + p.y - k.y) / s.y + 1;
        }
        let j1 = min(OW - 1, (w + p.y) / s.y);
        var acc = 0.0;
        for (var i = i0; i <= i1; i++) {
          for (var j = j0; j <= j1; j++) {
            let g = getDy(n, i, j, c);
            if (g == 0.0) {
              continue;
            }
            let top = getYmax(n, i, j, c);
            let hs = max(i * s.x - p.x, 0);
            let he = min(i * s.x - p.x + k.x, H);
            let ws = max(j * s.y - p.y, 0);
            let we = min(j * s.y - p.y + k.y, W);
            // The first position holding the maximum; the last one if none does (as the CPU loop).
            var fh = he - 1;
            var fw = we - 1;
            var found = false;
            for (var yy = hs; yy < he && !found; yy++) {
              for (var xx = ws; xx < we; xx++) {
                if (getX(n, yy, xx, c) == top) {
                  fh = yy;
                  fw = xx;
                  found = true;
                  break;
                }
              }
            }
            if (fh == h && fw == w) {
              acc += g;
            }
          }
        }
        setOutputAtIndex(index, acc);
      }
    `;
  }
}

/**
 * dx_c = dy_c·s_c^−β − 2·a·β·x_c·Σ_{d ∈ window(c)} dy_d·y_d / s_d, with s_d = k + a·Σ_{window(d)} x²
 * and a = α/size (Caffe's scaling).
 */
class LrnGradProgram implements WebGPUProgram {
  outputShape: number[];
  shaderKey = 'deepvisLrnGrad';
  dispatchLayout: { x: number[] };
  dispatch: [number, number, number];
  variableNames = ['x', 'y', 'dy'];
  uniforms = 'radius : i32, k : f32, a : f32, beta : f32,';
  workgroupSize: [number, number, number] = [64, 1, 1];
  size = true;

  constructor(xShape: number[]) {
    this.outputShape = xShape;
    this.dispatchLayout = webgpu_util.flatDispatchLayout(this.outputShape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, this.outputShape, this.workgroupSize);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index >= uniforms.size) {
          return;
        }
        let coords = getCoordsFromIndex(index);
        let n = coords[0];
        let h = coords[1];
        let w = coords[2];
        let c = coords[3];
        let C = uniforms.xShape[3];
        let r = uniforms.radius;
        var acc = 0.0;
        var sc = 1.0;
        for (var d = max(c - r, 0); d <= min(c + r, C - 1); d++) {
          var sum = 0.0;
          for (var e = max(d - r, 0); e <= min(d + r, C - 1); e++) {
            let z = getX(n, h, w, e);
            sum += z * z;
          }
          let s = uniforms.k + uniforms.a * sum;
          if (d == c) {
            sc = s;
          }
          acc += getDy(n, h, w, d) * getY(n, h, w, d) / s;
        }
        let dx = getDy(n, h, w, c) * pow(sc, -uniforms.beta) - 2.0 * uniforms.a * uniforms.beta * getX(n, h, w, c) * acc;
        setOutputAtIndex(index, dx);
      }
    `;
  }
}

let registered = false;

/** Registers the WebGPU kernels (once; tfjs-backend-webgpu must be loaded). */
export function registerWebgpuKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: MAX_POOL_GRAD,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, y, dy } = inputs as { x: tf.TensorInfo; y: tf.TensorInfo; dy: tf.TensorInfo };
      const g = attrs as unknown as PoolGeometry;
      const uniforms = [
        { type: 'int32', data: [g.kh, g.kw] },
        { type: 'int32', data: [g.sh, g.sw] },
        { type: 'int32', data: [g.pt, g.pl] },
      ];
      return (backend as WebGPUBackend).runWebGPUProgram(new MaxPoolGradProgram(x.shape), [x, y, dy], 'float32', uniforms);
    },
  });
  addOwnKernel(MAX_POOL_GRAD, 'webgpu');
  tf.registerKernel({
    kernelName: LRN_GRAD_FROM_Y,
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, y, dy } = inputs as { x: tf.TensorInfo; y: tf.TensorInfo; dy: tf.TensorInfo };
      const p = attrs as unknown as LrnParams;
      const uniforms = [
        { type: 'int32', data: [(p.size - 1) / 2] },
        { type: 'float32', data: [p.k] },
        { type: 'float32', data: [p.alpha / p.size] },
        { type: 'float32', data: [p.beta] },
      ];
      return (backend as WebGPUBackend).runWebGPUProgram(new LrnGradProgram(x.shape), [x, y, dy], 'float32', uniforms);
    },
  });
  addOwnKernel(LRN_GRAD_FROM_Y, 'webgpu');
}
