/**
 * The run a queue holds, stored beside its jobs (one Redis hash, `deepvis:run`): the settings as a
 * RunConfig with absolute paths, the backend, the fingerprint of what decides the gallery's bytes
 * and the deepvis version that made it. Workers take their work from it; a worker of another
 * version, or a coordinator with other settings, is refused.
 */
import type { Redis } from 'ioredis';
import type { BackendChoice } from '../../engine/backend-choices.ts';
import type { RunConfig } from '../config.ts';

export const META_KEY = 'deepvis:run';

export interface RunMeta {
  version: string;
  model: string;
  fingerprint: string;
  backend: BackendChoice;
  config: RunConfig;
  optimizeBatches: number;
  chunks: number;
  created: string;
}

export async function readMeta(redis: Redis): Promise<RunMeta | undefined> {
  const text = await redis.hget(META_KEY, 'json');
  return text ? (JSON.parse(text) as RunMeta) : undefined;
}

export async function writeMeta(redis: Redis, meta: RunMeta): Promise<void> {
  await redis.hset(META_KEY, 'json', JSON.stringify(meta));
}

export async function clearMeta(redis: Redis): Promise<void> {
  await redis.del(META_KEY);
}

/** What differs between two runs' settings, for the refusal message ('' when the same run). */
export function settingsDiff(a: RunMeta, b: Pick<RunMeta, 'model' | 'fingerprint' | 'backend' | 'version'>): string {
  if (a.version !== b.version) return `made by deepvis ${a.version}, this is ${b.version}`;
  if (a.model !== b.model) return `model ${a.model}, not ${b.model}`;
  if (a.backend !== b.backend) return `backend ${a.backend}, not ${b.backend}`;
  if (a.fingerprint !== b.fingerprint) return `model ${a.model} with other images, layers or settings`;
  return '';
}
