/** Task functions for the pool tests (run inside pool workers). */
import { threadId } from 'node:worker_threads';
import type { HandlerContext as Ctx } from '../../pipeline/engine/workers/handlers.ts';
import { UserError } from '../../pipeline/core/errors.ts';

/** Runs the net on `data` (NHWC) and returns the named blob, plus which thread ran it. */
export function forward(ctx: Ctx, args: { data: Float32Array; shape: [number, number, number, number]; blob: string }) {
  const { tf, net } = ctx;
  const out = tf.tidy(() => net.forward(tf.tensor4d(args.data, args.shape), [args.blob])[args.blob].dataSync() as Float32Array);
  return { values: out, threadId, backend: tf.getBackend() };
}

/** Blocks the worker for `ms` (to see tasks spread over the workers). */
export function busy(_ctx: Ctx, args: { ms: number }) {
  const end = Date.now() + args.ms;
  while (Date.now() < end);
  return threadId;
}

export async function fails(_ctx: Ctx, args: { user: boolean }) {
  await new Promise((r) => setTimeout(r, 1));
  if (args.user) throw new UserError('bad input in a worker');
  throw new TypeError('internal failure in a worker');
}

/** Ends the worker thread (a crash, as far as the pool can tell). */
export function crash() {
  process.exit(3);
}

export const handlers = { forward, busy, fails, crash };
