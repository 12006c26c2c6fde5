/**
 * ONNX Runtime (npm onnxruntime-node) through its native binding, synchronously: the binding runs a
 * session on the calling thread (the package's async `run` only defers that call), which lets a
 * session sit inside TensorFlow.js's synchronous gradient tape (ort/net.ts).
 */
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { ORT_PROVIDERS, type OrtProvider } from './providers.ts';

const require = createRequire(import.meta.url);

/** A tensor as the binding takes and returns it. */
export interface OrtTensor {
  readonly type: string;
  readonly dims: readonly number[];
  readonly data: Feed['data'];
}

/** What a session is fed: float32, or what one graph hands the next (int32 switches, bool masks). */
export interface Feed {
  data: Float32Array | Int32Array | Uint8Array | BigInt64Array;
  dims: readonly number[];
}

const feedType = (d: Feed['data']) => (d instanceof Float32Array ? 'float32' : d instanceof Int32Array ? 'int32' : d instanceof Uint8Array ? 'bool' : 'int64');

interface NativeSession {
  loadModel(buffer: ArrayBufferLike, offset: number, length: number, options: object): void;
  run(feeds: Record<string, unknown>, fetches: Record<string, null>, options: object): Record<string, OrtTensor>;
  endProfiling(): void;
  dispose(): void;
}

interface Runtime {
  Session: new () => NativeSession;
  Tensor: new (type: string, data: Feed['data'], dims: readonly number[]) => unknown;
  /** Providers this build can run now (bundled, or their library installed beside the binding). */
  providers: string[];
}

let runtime: Runtime | undefined;

/** Loads ONNX Runtime once; a UserError (one line) when it is not installed or does not load. */
export function loadRuntime(): Runtime {
  if (runtime) return runtime;
  let own: NodeJS.Require;
  let b: { binding: { InferenceSession: Runtime['Session']; listSupportedBackends(): { name: string; bundled: boolean }[] }; initOrt(): void };
  let common: { Tensor: Runtime['Tensor'] };
  let main: string;
  try {
    main = require.resolve('onnxruntime-node');
  } catch {
    throw new UserError('backend onnxruntime needs the package onnxruntime-node (npm install onnxruntime-node)');
  }
  try {
    own = createRequire(main);
    b = own('./binding.js');
    common = own('onnxruntime-common');
    b.initOrt();
  } catch (e) {
    throw new UserError(`backend onnxruntime: onnxruntime-node does not load: ${(e as Error).message.split('\n')[0]}`);
  }
  // A provider listed as not bundled (CUDA, TensorRT) runs only when its library was installed.
  const dir = dirname(own.resolve('./binding.js'));
  const bin = join(dir, '..', 'bin', 'napi-v6', process.platform, process.arch);
  const available = (p: { name: string; bundled: boolean }) => p.bundled || existsSync(join(bin, `libonnxruntime_providers_${p.name}.so`));
  runtime = {
    Session: b.binding.InferenceSession,
    Tensor: common.Tensor,
    providers: b.binding
      .listSupportedBackends()
      .filter(available)
      .map((p) => p.name),
  };
  return runtime;
}

export { ORT_PROVIDERS, type OrtProvider };

/** The provider named by --ort-provider (the CLI sets DEEPVIS_ORT_PROVIDER; worker threads inherit it). */
export function ortProvider(): OrtProvider {
  const v = (process.env.DEEPVIS_ORT_PROVIDER || 'cpu') as OrtProvider;
  if (!ORT_PROVIDERS.includes(v)) throw new UserError(`--ort-provider must be one of ${ORT_PROVIDERS.join(', ')}, got "${v}"`);
  return v;
}

export interface SessionOptions {
  /** Intra-op threads (default: every core). */
  threads?: number;
  /** Default cpu. */
  provider?: OrtProvider;
}

/** Checks that `provider` is in this onnxruntime-node build, with how to get it when it is not. */
export function checkProvider(provider: OrtProvider): void {
  const rt = loadRuntime();
  if (provider === 'cpu' || rt.providers.includes(provider)) return;
  const how =
    provider === 'cuda' || provider === 'tensorrt'
      ? 'fetch its CUDA 12 binaries (Linux x64): ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules/onnxruntime-node/script/install.js'
      : 'use a platform and build of onnxruntime-node that has it';
  throw new UserError(`--ort-provider ${provider}: not in this onnxruntime-node (it has ${rt.providers.join(', ')}); ${how}`);
}

export interface Session {
  run(feeds: Record<string, Feed>, outputs: string[]): Record<string, OrtTensor>;
  dispose(): void;
}

export function createSession(bytes: Uint8Array, opts: SessionOptions = {}): Session {
  const rt = loadRuntime();
  const provider = opts.provider ?? ortProvider();
  checkProvider(provider);
  const s = new rt.Session();
  s.loadModel(bytes.buffer, bytes.byteOffset, bytes.byteLength, {
    intraOpNumThreads: opts.threads ?? availableParallelism(),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionMode: 'sequential',
    executionProviders: [provider],
    // DEEPVIS_ORT_PROFILE=prefix: ONNX Runtime writes a per-node profile (prefix_<time>.json) when the session closes.
    ...(process.env.DEEPVIS_ORT_PROFILE ? { enableProfiling: true, profileFilePrefix: process.env.DEEPVIS_ORT_PROFILE } : {}),
    // Idle pool threads sleep instead of spinning: the cores are shared with TensorFlow.js's ops
    // between runs and with the other workers.
    extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } },
  });
  return {
    run(feeds, outputs) {
      const f: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(feeds)) f[k] = new rt.Tensor(feedType(v.data), v.data, v.dims);
      const t0 = performance.now();
      const r = s.run(f, Object.fromEntries(outputs.map((o) => [o, null])), {});
      if (process.env.DEEPVIS_ORT_DEBUG) console.error(`ort run ${outputs[0]} ${(performance.now() - t0).toFixed(0)} ms`);
      return r;
    },
    dispose: () => {
      if (process.env.DEEPVIS_ORT_PROFILE) s.endProfiling();
      s.dispose();
    },
  };
}
