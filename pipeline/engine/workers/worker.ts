/**
 * A pool worker (started by bin/worker.mjs): one backend, one model, one net; then serves tasks
 * `handlers[fn]({ net, model, tf }, args)` one at a time until told to close.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../backend.ts';
import { deviceLimits } from '../batch-size.ts';
import { createNet } from '../create-net.ts';
import type { Model } from '../../graph/types.ts';
import { loadHandlerTable } from './handlers.ts';
import { transferables } from './transfer.ts';
import type { FromWorker, ToWorker, WorkerSetup } from './protocol.ts';

const port = parentPort!;
const setup = workerData as WorkerSetup;
const send = (m: FromWorker, transfer: Transferable[] = []) => port.postMessage(m, transfer as never);
const errorOf = (e: unknown, id?: number): FromWorker => {
  const err = e instanceof Error ? e : new Error(String(e));
  return { type: 'error', id, name: err.name, message: err.message, stack: err.stack };
};

async function loadTheModel(): Promise<Model> {
  if (typeof setup.model !== 'string') return setup.model;
  if (setup.modelFactory) {
    const m = (await import(pathToFileURL(setup.modelFactory).href)) as { default: (spec: string) => Promise<Model> };
    return m.default(setup.model);
  }
  const { loadModel } = await import('../../import/load.ts');
  return loadModel(setup.model);
}

async function start() {
  const backend = await initBackend(setup.backend);
  const model = await loadTheModel();
  const net = createNet(model);
  const handlers = await loadHandlerTable(setup.handlers);
  const ctx = { net, model, tf };
  send({ type: 'ready', backend, device: deviceLimits() });

  // Tasks arrive one at a time (the pool sends the next only after this one's reply).
  port.on('message', async (msg: ToWorker) => {
    if (msg.type === 'close') {
      net.dispose();
      port.close();
      return;
    }
    try {
      const h = handlers[msg.fn];
      if (typeof h !== 'function') throw new Error(`worker: no task function "${msg.fn}" in ${setup.handlers}`);
      const result = await h(ctx, msg.args);
      send({ type: 'result', id: msg.id, result }, transferables(result));
    } catch (e) {
      send(errorOf(e, msg.id));
    }
  });
}

start().catch((e) => {
  send(errorOf(e));
  port.close();
});
