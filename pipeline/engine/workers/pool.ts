/**
 * A pool of worker threads, each with its own TensorFlow.js backend and net (wasm runs one thread
 * per process, so this is how both CPU cores get used). Tasks are functions exported by a
 * handlers module, run as `handlers[fn]({ net, model, tf }, args)` on the next free worker.
 */
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { autoBackend, type BackendChoice } from '../backend.ts';
import type { DeviceLimits } from '../batch-size.ts';
import { UserError } from '../../core/errors.ts';
import { gpuAdapter, useGpuAdapter } from '../gpu-adapter.ts';
import type { Model } from '../../graph/types.ts';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.ts';

export interface NetPoolOptions {
  /** A `--model` spec (each worker runs loadModel on it) or a loaded model (cloned into each worker). */
  model: string | Model;
  backend: BackendChoice;
  /** Default: the cores (at most 2) for wasm/cpu/onnxruntime on CPU, 1 for tensorflow/webgpu and GPU providers (they use every core or the GPU themselves). */
  workers?: number;
  /** Absolute path of a TS/JS module exporting the task functions. */
  handlers: string;
  /** Test hook: module whose default export `(spec) => Promise<Model>` replaces loadModel. */
  modelFactory?: string;
}

export interface NetPool {
  size: number;
  /** The backend the workers run on ("wasm", "tensorflow"…). */
  backend: string;
  /** A GPU backend's limits (engine/batch-size.ts); null on the CPU engines. */
  device: DeviceLimits | null;
  run<T>(fn: string, args: unknown, transfer?: Transferable[]): Promise<T>;
  close(): Promise<void>;
}

/**
 * The worker thread's entry: the compiled worker beside this module in the package (lib/), or,
 * when the TypeScript sources run, bin/worker.mjs, which registers tsx in the thread first.
 */
const WORKER_SCRIPT = import.meta.url.endsWith('.ts')
  ? fileURLToPath(new URL('../../../bin/worker.mjs', import.meta.url))
  : fileURLToPath(new URL('./worker.js', import.meta.url));

/** Default pool size for a backend. */
export function defaultWorkers(backend: BackendChoice): number {
  const b = backend === 'auto' ? autoBackend() : backend;
  if (b === 'tensorflow' || b === 'webgpu') return 1;
  // ONNX Runtime on a GPU provider: one net feeds the device. On CPU: a worker per core, one ONNX
  // Runtime thread each — decoding, top-k bookkeeping and the TensorFlow.js ops around the net then
  // overlap with the other worker's net (GoogLeNet, 2 cores: scan of 200 photos 66 s vs 93 s with
  // 1 worker × 2 threads; img-step 61 vs 78 ms), at twice the memory.
  if (b === 'onnxruntime' && (process.env.DEEPVIS_ORT_PROVIDER ?? 'cpu') !== 'cpu') return 1;
  return Math.max(1, Math.min(2, availableParallelism()));
}

/** Rebuilds a worker's error on this side; a UserError stays one (one-line CLI message). */
function rebuild(m: Extract<FromWorker, { type: 'error' }>): Error {
  if (m.name === 'UserError') return new UserError(m.message);
  const e = new Error(m.message);
  e.name = m.name;
  if (m.stack) e.stack = m.stack;
  return e;
}

interface Task {
  id: number;
  fn: string;
  args: unknown;
  transfer?: Transferable[];
  resolve(v: unknown): void;
  reject(e: unknown): void;
}
interface Slot {
  worker: Worker;
  task?: Task;
  alive: boolean;
}

export async function createNetPool(opts: NetPoolOptions): Promise<NetPool> {
  const n = opts.workers ?? defaultWorkers(opts.backend);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`--workers must be an integer ≥ 1, got ${n}`);
  const setup: WorkerSetup = { model: opts.model, backend: opts.backend, handlers: opts.handlers, modelFactory: opts.modelFactory };
  // The Vulkan loader in the workers reads the real environment, which only this thread can set.
  if (opts.backend === 'webgpu') useGpuAdapter(gpuAdapter());
  const slots: Slot[] = [];
  const queue: Task[] = [];
  let nextId = 1;
  let closing = false;
  const inFlight = new Set<Promise<unknown>>();
  let backend = '';
  let device: DeviceLimits | null = null;

  const fail = (slot: Slot, err: Error) => {
    slot.alive = false;
    const t = slot.task;
    slot.task = undefined;
    t?.reject(err);
    if (!slots.some((s) => s.alive)) for (const q of queue.splice(0)) q.reject(err);
  };
  const pump = () => {
    for (const slot of slots) {
      if (!slot.alive || slot.task || queue.length === 0) continue;
      const t = queue.shift()!;
      slot.task = t;
      const msg: ToWorker = { type: 'task', id: t.id, fn: t.fn, args: t.args };
      try {
        slot.worker.postMessage(msg, (t.transfer ?? []) as never);
      } catch (e) {
        slot.task = undefined;
        t.reject(e);
      }
    }
  };

  const started = Array.from({ length: n }, () => {
    // ONNX Runtime nets share the cores between the workers (engine/create-net.ts ortThreads).
    const ortThreads = process.env.DEEPVIS_ORT_THREADS || String(Math.max(1, Math.floor(availableParallelism() / n)));
    const worker = new Worker(WORKER_SCRIPT, { workerData: setup, env: { ...process.env, DEEPVIS_ORT_THREADS: ortThreads } });
    const slot: Slot = { worker, alive: true };
    slots.push(slot);
    return new Promise<void>((resolve, reject) => {
      let ready = false;
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') {
          ready = true;
          backend = m.backend;
          device = m.device;
          resolve();
        } else if (m.type === 'error' && m.id === undefined) {
          slot.alive = false;
          if (!ready) reject(rebuild(m));
          else fail(slot, rebuild(m));
        } else if (m.type === 'result' || m.type === 'error') {
          const t = slot.task;
          slot.task = undefined;
          if (t && t.id === m.id) {
            if (m.type === 'result') t.resolve(m.result);
            else t.reject(rebuild(m));
          }
          pump();
        }
      });
      worker.on('error', (e) => {
        if (!ready) reject(e);
        else fail(slot, e);
      });
      worker.on('exit', (code) => {
        const err = new Error(`worker exited (code ${code})`);
        if (!ready) reject(err);
        else if (!closing) fail(slot, err);
        slot.alive = false;
      });
    });
  });

  try {
    await Promise.all(started);
  } catch (e) {
    await Promise.all(slots.map((s) => s.worker.terminate()));
    if (e instanceof UserError) throw e;
    throw new UserError(`could not start the workers: ${(e as Error).message.split('\n')[0]}`);
  }

  return {
    size: n,
    backend,
    device,
    run<T>(fn: string, args: unknown, transfer?: Transferable[]): Promise<T> {
      if (closing) return Promise.reject(new Error('the worker pool is closed'));
      if (!slots.some((s) => s.alive)) return Promise.reject(new Error('no worker is running'));
      const p = new Promise<T>((resolve, reject) => {
        queue.push({ id: nextId++, fn, args, transfer, resolve: resolve as (v: unknown) => void, reject });
        pump();
      });
      const tracked = p.catch(() => undefined);
      inFlight.add(tracked);
      void tracked.then(() => inFlight.delete(tracked));
      return p;
    },
    /** Lets the tasks already queued finish, then stops the workers. */
    async close() {
      if (closing) return;
      closing = true;
      await Promise.all(inFlight);
      await Promise.all(
        slots.map(
          (s) =>
            new Promise<void>((resolve) => {
              if (!s.alive) return resolve();
              const timer = setTimeout(() => void s.worker.terminate(), 10_000);
              s.worker.once('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              s.worker.postMessage({ type: 'close' } satisfies ToWorker);
            }),
        ),
      );
    },
  };
}
