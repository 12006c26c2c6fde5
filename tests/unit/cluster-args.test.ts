/** The arguments of a sharded or queued run: --shard K/N (and auto from a scheduler's environment), --queue URLs. */
import { describe, expect, it } from 'vitest';
import { parseShard } from '../../pipeline/gallery/shard.ts';
import { parseQueueUrl } from '../../pipeline/gallery/queue/connection.ts';
import { gatherFlow, jobTotal, siteFlow } from '../../pipeline/gallery/queue/flow.ts';

describe('--shard', () => {
  it('takes K/N with 0 ≤ K < N', () => {
    expect(parseShard('0/1')).toEqual({ index: 0, count: 1 });
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(() => parseShard('3/3')).toThrow(/--shard: the shard index must be in 0\.\.2, got 3/);
    expect(() => parseShard('1/0')).toThrow(/shard count must be a positive integer/);
    expect(() => parseShard('1-3')).toThrow(/--shard: expected K\/N \(e\.g\. 0\/4\) or auto, got "1-3"/);
  });

  it('auto: a SLURM array task (ids may start above 0) or a Kubernetes Indexed Job', () => {
    expect(parseShard('auto', { SLURM_ARRAY_TASK_ID: '5', SLURM_ARRAY_TASK_MIN: '4', SLURM_ARRAY_TASK_COUNT: '4' })).toEqual({ index: 1, count: 4 });
    expect(parseShard('auto', { JOB_COMPLETION_INDEX: '3', DEEPVIS_SHARDS: '8' })).toEqual({ index: 3, count: 8 });
    expect(() => parseShard('auto', { JOB_COMPLETION_INDEX: '3' })).toThrow(/DEEPVIS_SHARDS/);
    expect(() => parseShard('auto', {})).toThrow(/neither SLURM_ARRAY_TASK_ID .* nor JOB_COMPLETION_INDEX/);
  });
});

describe('--queue', () => {
  it('parses redis:// and rediss:// URLs with a database number', () => {
    expect(parseQueueUrl('redis://10.0.0.5:6380/2')).toMatchObject({ shown: 'redis://10.0.0.5:6380/2', options: { host: '10.0.0.5', port: 6380, db: 2 } });
    const a = parseQueueUrl('rediss://me:s%40cret@queue.example');
    expect(a.options).toMatchObject({ host: 'queue.example', port: 6379, db: 0, username: 'me', password: 's@cret', tls: {} });
    expect(a.shown).not.toContain('cret');
  });

  it('refuses what is not a Redis URL, in one line', () => {
    expect(() => parseQueueUrl('localhost:6379')).toThrow(/expected a redis:\/\/ or rediss:\/\/ URL/);
    expect(() => parseQueueUrl('redis://h:1/zero')).toThrow(/the database must be a number/);
    expect(() => parseQueueUrl('not a url')).toThrow(/is not a URL/);
  });

  it('a run is two flows with fixed job ids: gather ← (optimize…, merge ← scan…), site ← render…', () => {
    const g = gatherFlow(3, 2);
    const ids = (f: { opts?: { jobId?: string }; children?: unknown[] }): unknown => [f.opts?.jobId, ...(f.children ?? []).map((c) => ids(c as never))];
    expect(ids(g)).toEqual(['gather', ['merge', ['scan-0'], ['scan-1']], ['optimize-0'], ['optimize-1'], ['optimize-2']]);
    expect(ids(siteFlow(2))).toEqual(['site', ['render-0'], ['render-1']]);
    expect(jobTotal(3, 2)).toBe(3 + 2 + 1 + 1 + 2 + 1);
  });
});
