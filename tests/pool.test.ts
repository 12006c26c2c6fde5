import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { createNetPool, type NetPool } from '../pipeline/engine/workers/pool.ts';
import { initBackend } from '../pipeline/engine/backend.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import { transferables } from '../pipeline/engine/workers/transfer.ts';
import { tinyModel } from './helpers/pool-model.ts';
import { randn, rng } from './helpers/net-graph.ts';
import { requireAssets } from './helpers/assets.ts';

const helpers = fileURLToPath(new URL('./helpers/', import.meta.url));
const HANDLERS = join(helpers, 'pool-handlers.ts');
const FACTORY = join(helpers, 'pool-model.ts');
const input = randn(rng(9), 2 * 12 * 12 * 3);

async function localFc(): Promise<Float32Array> {
  await initBackend('cpu');
  const net = createNet(tinyModel());
  const x = tf.tensor4d(input, [2, 12, 12, 3]);
  const y = net.forward(x, ['fc']).fc;
  const out = y.dataSync() as Float32Array;
  tf.dispose([x, y]);
  net.dispose();
  return out;
}

describe('net worker pool', () => {
  let pool: NetPool;
  beforeAll(async () => {
    pool = await createNetPool({ model: 'tiny', backend: 'wasm', workers: 2, handlers: HANDLERS, modelFactory: FACTORY });
  });
  afterAll(async () => {
    await pool?.close();
  });

  it('starts the workers on the backend asked for', () => {
    expect(pool.size).toBe(2);
    expect(pool.backend).toBe('wasm');
  });

  it('runs tasks on the net and returns typed arrays intact', async () => {
    const want = await localFc();
    const r = await pool.run<{ values: Float32Array; backend: string }>('forward', { data: input, shape: [2, 12, 12, 3], blob: 'fc' });
    expect(r.backend).toBe('wasm');
    expect(r.values).toBeInstanceOf(Float32Array);
    expect(r.values.length).toBe(10);
    for (let i = 0; i < 10; i++) expect(r.values[i]).toBeCloseTo(want[i], 4);
  });

  it('moves transferable inputs (the caller’s buffer is detached)', async () => {
    const data = input.slice();
    const r = await pool.run<{ values: Float32Array }>('forward', { data, shape: [2, 12, 12, 3], blob: 'fc' }, [data.buffer]);
    expect(data.byteLength).toBe(0);
    expect(r.values.length).toBe(10);
  });

  it('hands each task to the next free worker', async () => {
    const ids = await Promise.all(Array.from({ length: 6 }, () => pool.run<number>('busy', { ms: 150 })));
    expect(new Set(ids).size).toBe(2);
  });

  it('rejects a failing task with its message; a UserError stays a UserError', async () => {
    await expect(pool.run('fails', { user: true })).rejects.toMatchObject({ name: 'UserError', message: 'bad input in a worker' });
    await expect(pool.run('fails', { user: false })).rejects.toMatchObject({ name: 'TypeError', message: 'internal failure in a worker' });
    await expect(pool.run('nope', {})).rejects.toThrow(/no task function "nope"/);
    // The workers keep serving after errors.
    const r = await pool.run<{ values: Float32Array }>('forward', { data: input, shape: [2, 12, 12, 3], blob: 'p1' });
    expect(r.values.length).toBe(2 * 3 * 3 * 4); // 12 → conv 3/2 → 5 → pool 2/2 (ceil) → 3
  });
});

describe('net worker pool start-up', () => {
  it('a model that does not load rejects createNetPool with a one-line UserError', async () => {
    const p = createNetPool({ model: 'bad', backend: 'wasm', workers: 2, handlers: HANDLERS, modelFactory: FACTORY });
    await expect(p).rejects.toMatchObject({ name: 'UserError', message: 'model not found: bad' });
  });

  it('a backend that cannot start rejects createNetPool', async () => {
    await expect(createNetPool({ model: 'tiny', backend: 'tensorflow', workers: 1, handlers: HANDLERS, modelFactory: FACTORY })).rejects.toMatchObject({
      name: 'UserError',
    });
  });

  it('takes a loaded Model object (cloned into the workers)', async () => {
    const want = await localFc();
    const pool = await createNetPool({ model: tinyModel(), backend: 'cpu', workers: 1, handlers: HANDLERS });
    try {
      const r = await pool.run<{ values: Float32Array; backend: string }>('forward', { data: input, shape: [2, 12, 12, 3], blob: 'fc' });
      expect(r.backend).toBe('cpu');
      for (let i = 0; i < 10; i++) expect(r.values[i]).toBeCloseTo(want[i], 4);
    } finally {
      await pool.close();
    }
  });

  it('a worker that dies fails its task; the others go on serving', async () => {
    const pool = await createNetPool({ model: 'tiny', backend: 'cpu', workers: 2, handlers: HANDLERS, modelFactory: FACTORY });
    try {
      await expect(pool.run('crash', {})).rejects.toThrow(/worker exited \(code 3\)/);
      const ids = await Promise.all([1, 2, 3].map(() => pool.run<number>('busy', { ms: 1 })));
      expect(new Set(ids).size).toBe(1);
      await pool.run('crash', {}).catch(() => undefined);
      await expect(pool.run('busy', { ms: 1 })).rejects.toThrow(/no worker is running/);
    } finally {
      await pool.close();
    }
  });

  it('transfers only buffers a typed array owns whole', () => {
    const whole = new Float32Array(4);
    const view = new Float32Array(new ArrayBuffer(64), 16, 4);
    expect(transferables({ a: whole, b: [view, { c: whole }], d: 3 })).toEqual([whole.buffer]);
  });
});

const A = requireAssets();
describe.skipIf(!A.dir)(`net worker pool with a real model ${A.skipReason ?? ''}`, () => {
  it('loads squeezenet_v1.1 through loadModel in each worker', async () => {
    const pool = await createNetPool({ model: join(A.dir!, 'models', 'squeezenet_v1.1'), backend: 'wasm', workers: 2, handlers: HANDLERS });
    try {
      const data = new Float32Array(227 * 227 * 3);
      const r = await pool.run<{ values: Float32Array }>('forward', { data, shape: [1, 227, 227, 3], blob: 'prob' });
      expect(r.values.length).toBe(1000);
      expect(r.values.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
    } finally {
      await pool.close();
    }
  });
});
