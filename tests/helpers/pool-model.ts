/** Model factory hook for the pool tests: spec "tiny" → a small hand-built net; "bad" → UserError. */
import { UserError } from '../../pipeline/core/errors.ts';
import type { Model } from '../../pipeline/graph/types.ts';
import { GraphBuilder } from './net-graph.ts';

export function tinyModel(): Model {
  return new GraphBuilder([3, 12, 12], 7)
    .conv('c1', 'data', 'c1', { numOutput: 4, kernel: 3, stride: 2 })
    .relu('r1', 'c1')
    .pool('p1', 'c1', 'p1', { method: 'max', kernel: 2, stride: 2 })
    .fc('fc', 'p1', 'fc', 5)
    .model('tiny');
}

export default async function load(spec: string): Promise<Model> {
  if (spec === 'tiny') return tinyModel();
  throw new UserError(`model not found: ${spec}`);
}
