/**
 * TensorFlow.js in the browser, loaded on demand: WebGPU when the browser offers a hardware
 * adapter, else WebGL on a hardware renderer, else WebAssembly (SIMD), else plain JavaScript.
 * `?backend=webgpu|webgl|wasm|cpu` in the page URL forces one (and fails loudly if it cannot start).
 */
import * as tf from '@tensorflow/tfjs-core';
// Gradients (deconv, input gradients): registered from tfjs-core's own modules, which the bundler resolves.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-wasm';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreaded from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';

export type BackendName = 'webgpu' | 'webgl' | 'wasm' | 'cpu';
export const BACKENDS: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

setWasmPaths({
  'tfjs-backend-wasm.wasm': wasmPlain,
  'tfjs-backend-wasm-simd.wasm': wasmSimd,
  'tfjs-backend-wasm-threaded-simd.wasm': wasmThreaded,
});

/** A software WebGL (SwiftShader, llvmpipe) is slower than WebAssembly: skip it in `auto`. */
function hardwareWebGl(): boolean {
  try {
    const gl = document.createElement('canvas').getContext('webgl2');
    if (!gl) return false;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return !/swiftshader|llvmpipe|softpipe|software/i.test(renderer);
  } catch {
    return false;
  }
}

async function hardwareWebGpu(): Promise<boolean> {
  type Adapter = { isFallbackAdapter?: boolean; info?: { isFallbackAdapter?: boolean } };
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return false;
  try {
    const adapter = (await gpu.requestAdapter()) as Adapter | null;
    return Boolean(adapter && !adapter.isFallbackAdapter && !adapter.info?.isFallbackAdapter);
  } catch {
    return false;
  }
}

async function start(name: BackendName): Promise<boolean> {
  // Only the backend tried is fetched: each is its own lazily loaded chunk.
  if (name === 'webgpu') await import('@tensorflow/tfjs-backend-webgpu');
  if (name === 'webgl') await import('@tensorflow/tfjs-backend-webgl');
  if (name === 'cpu') await import('@tensorflow/tfjs-backend-cpu');
  try {
    const ok = await tf.setBackend(name);
    if (ok) await tf.ready();
    return ok && tf.getBackend() === name;
  } catch {
    return false;
  }
}

/** Starts a backend (`auto`: the fastest available) and returns its name. */
export async function initBackend(wanted: BackendName | 'auto'): Promise<BackendName> {
  if (wanted !== 'auto') {
    if (!(await start(wanted))) throw new Error(`the ${wanted} backend cannot start in this browser`);
    return wanted;
  }
  const order: BackendName[] = [];
  if (await hardwareWebGpu()) order.push('webgpu');
  if (hardwareWebGl()) order.push('webgl');
  order.push('wasm', 'cpu');
  for (const name of order) if (await start(name)) return name;
  throw new Error('no TensorFlow.js backend could start');
}

export function backendFromUrl(search: string): BackendName | 'auto' {
  const v = new URLSearchParams(search).get('backend');
  if (!v) return 'auto';
  if (!(BACKENDS as readonly string[]).includes(v)) throw new Error(`unknown backend "${v}" (expected ${BACKENDS.join(', ')})`);
  return v as BackendName;
}

export { tf };
