import { parseBackend } from '../../engine/backend-choices.ts';
import { formatStatus, queueStatus } from '../../gallery/queue/status.ts';
import { runWorker } from '../../gallery/queue/worker.ts';
import type { ParsedCommand } from '../options.ts';

export async function worker({ values: v }: ParsedCommand<'worker'>): Promise<void> {
  await runWorker({ queue: v.queue!, backend: v.backend ? parseBackend(v.backend) : undefined, workers: v.workers, forever: v.forever });
}

export async function status({ values: v }: ParsedCommand<'status'>): Promise<void> {
  const s = await queueStatus(v.queue!);
  console.log(v.json ? JSON.stringify(s) : formatStatus(s));
}
