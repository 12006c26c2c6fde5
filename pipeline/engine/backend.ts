import * as tf from '@tensorflow/tfjs-core';
// On Node, tfjs-core's build registers no gradients and its gradient modules need a bundler:
// scripts/build.mjs bundles them (in the registries every copy of tfjs-core shares). The browser
// probe registers them from tfjs-core itself.
import './vendor/tfjs-gradients.cjs';
import { createRequire } from 'node:module';
import { setFlagsFromString } from 'node:v8';
import { dirname } from 'node:path';
import { isMainThread } from 'node:worker_threads';
import { UserError } from '../core/errors.ts';
import { adapterMismatch, type AdapterInfo, gpuAdapter, useGpuAdapter } from './gpu-adapter.ts';

import { BACKEND_CHOICES, type BackendChoice } from './backend-choices.ts';
import type { Model } from '../graph/types.ts';

export { BACKEND_CHOICES, type BackendChoice, parseBackend } from './backend-choices.ts';

const require = createRequire(import.meta.url);

/** Imports an optional package; undefined when it is not installed (any other failure is reported). */
async function importOptional(name: string): Promise<unknown | undefined> {
  try {
    require.resolve(name);
  } catch {
    return undefined;
  }
  return import(name);
}

/**
 * What `auto` resolves to, without starting anything: tensorflow when tfjs-node(-gpu) is installed,
 * else onnxruntime when onnxruntime-node is, else wasm.
 */
export function autoBackend(): 'tensorflow' | 'onnxruntime' | 'wasm' {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      require.resolve(pkg);
      return 'tensorflow';
    } catch {
      // not installed
    }
  }
  try {
    require.resolve('onnxruntime-node');
    return 'onnxruntime';
  } catch {
    return 'wasm';
  }
}

/**
 * `auto` for one model: as autoBackend, except that a model whose input is not an image
 * (C×H×W), which the ONNX Runtime engine does not take, runs on wasm.
 */
export function autoBackendFor(model: Model): 'tensorflow' | 'onnxruntime' | 'wasm' {
  const b = autoBackend();
  return b === 'onnxruntime' && model.graph.input.shape.length !== 3 ? 'wasm' : b;
}

/** The engine the nets of this thread run on (engine/create-net.ts): set by initBackend. */
let engine: 'tfjs' | 'onnxruntime' = 'tfjs';
export const currentEngine = () => engine;

/**
 * ONNX Runtime runs the nets (engine/ort/); TensorFlow.js, on wasm, runs the tensors around them
 * (parameterisations, priors, objectives).
 */
async function startOnnxruntime(): Promise<string> {
  const { loadRuntime, checkProvider, ortProvider } = await import('./ort/runtime.ts');
  loadRuntime();
  checkProvider(ortProvider());
  await startWasm();
  engine = 'onnxruntime';
  return 'onnxruntime';
}

/** Activates `name` and checks that TensorFlow.js really runs on it (tfjs may fall back silently). */
async function activate(name: string, what: string): Promise<string> {
  let ok = false;
  try {
    ok = await tf.setBackend(name);
    await tf.ready();
  } catch (e) {
    throw new UserError(`backend ${what} could not start: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!ok || tf.getBackend() !== name) throw new UserError(`backend ${what} could not start (TensorFlow.js is on "${tf.getBackend()}")`);
  return name;
}

async function startTensorflow(): Promise<string | undefined> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    let mod: unknown;
    try {
      mod = await importOptional(pkg);
    } catch (e) {
      throw new UserError(`backend tensorflow: ${pkg} is installed but does not load: ${(e as Error).message.split('\n')[0]}`);
    }
    if (mod !== undefined) return activate('tensorflow', `tensorflow (${pkg})`);
  }
  return undefined;
}

async function startWasm(): Promise<string> {
  // V8 otherwise runs wasm functions on its baseline compiler until each gets hot: in a worker
  // thread the first ~10 s of GoogLeNet ran at 0.6× speed. Optimise every function up front
  // (process-wide, before the module is compiled).
  setFlagsFromString('--no-wasm-dynamic-tiering');
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  // Node runs one wasm thread per process (the threaded build needs blob-URL workers); point the
  // loader at the package's own .wasm files.
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm'));
  wasm.setWasmPaths(dist + '/');
  return activate('wasm', 'wasm');
}

async function startWebgpu(): Promise<string> {
  // Started before in this thread: the same device again (a second Dawn instance would replace
  // the navigator.gpu TensorFlow.js's backend was made from).
  if (tf.findBackend('webgpu')) return activate('webgpu', 'webgpu');
  let gpu: { create: (opts: string[]) => unknown; globals: Record<string, unknown> } | undefined;
  try {
    gpu = (await importOptional('webgpu')) as typeof gpu;
  } catch (e) {
    throw new UserError(`backend webgpu: the "webgpu" package does not load: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!gpu) throw new UserError('backend webgpu needs the optional package "webgpu" (npm install webgpu)');
  const asked = gpuAdapter();
  // In the main thread this sets the Vulkan loader's environment; a worker's pool has done it.
  if (isMainThread) useGpuAdapter(asked);
  const g = globalThis as Record<string, unknown>;
  Object.assign(g, gpu.globals);
  const navigatorGpu = gpu.create([]) as { requestAdapter(): Promise<{ info?: AdapterInfo } | null> };
  const adapter = await navigatorGpu.requestAdapter().catch(() => null);
  if (!adapter)
    throw new UserError(
      asked === 'swiftshader' ? 'backend webgpu: no adapter from SwiftShader (is libvulkan1 installed?)' : 'backend webgpu: no GPU adapter found',
    );
  const mismatch = adapterMismatch(asked, adapter.info);
  if (mismatch) throw new UserError(mismatch);
  const nav = (g.navigator ?? {}) as Record<string, unknown>;
  try {
    Object.defineProperty(nav, 'gpu', { value: navigatorGpu, configurable: true });
  } catch {
    throw new UserError('backend webgpu: cannot set navigator.gpu');
  }
  if (!g.navigator) Object.defineProperty(g, 'navigator', { value: nav, configurable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  (await import('./net/webgpu-kernels.ts')).registerWebgpuKernels();
  return activate('webgpu', 'webgpu');
}

/**
 * Starts a compute backend and returns the name of the one active. `auto` prefers tfjs-node-gpu,
 * then tfjs-node (optional packages), then ONNX Runtime (unless `model` has layers it does not
 * run: autoBackendFor), else wasm. A backend named explicitly
 * that cannot start is a UserError: never a silent fallback.
 */
export async function initBackend(name: BackendChoice, model?: Model): Promise<string> {
  engine = 'tfjs';
  switch (name) {
    case 'auto': {
      const tfjsNode = await startTensorflow();
      if (tfjsNode) return tfjsNode;
      return (model ? autoBackendFor(model) : autoBackend()) === 'onnxruntime' ? startOnnxruntime() : startWasm();
    }
    case 'onnxruntime':
      return startOnnxruntime();
    case 'tensorflow': {
      const got = await startTensorflow();
      if (!got) throw new UserError('backend tensorflow needs @tensorflow/tfjs-node or @tensorflow/tfjs-node-gpu (not installed)');
      return got;
    }
    case 'wasm':
      return startWasm();
    case 'webgpu':
      return startWebgpu();
    case 'cpu': {
      // tfjs greets Node users of the cpu backend with advice on stdout/stderr; keep output clean.
      const warn = console.warn;
      console.warn = () => {};
      try {
        await import('@tensorflow/tfjs-backend-cpu');
        return await activate('cpu', 'cpu');
      } finally {
        console.warn = warn;
      }
    }
    default:
      throw new UserError(`unknown backend "${String(name)}" (choose: ${BACKEND_CHOICES.join(', ')})`);
  }
}
