// The batch size a stage takes when none is given: 8 on the CPU engines; on a GPU the largest
// power of two ≤ 256 whose activations fit the device's binding limit and the memory allowed.
import { describe, expect, it } from 'vitest';
import { activationBytes, batchFor, CPU_BATCH, gpuMemoryBytes, MAX_BATCH } from '../../pipeline/engine/batch-size.ts';
import type { Layer } from '../../pipeline/graph/types.ts';
import { conv, pool, relu, tinyModel } from '../helpers/tiny-model.ts';

const layers: Layer[] = [
  { kind: 'input', name: 'data', bottoms: [], tops: ['data'], shape: [3, 32, 32] },
  conv('c1', 'data', 'c1', 16, 3, 1, 1),
  relu('r1', 'c1'),
  pool('p1', 'c1', 'p1', 2, 2),
  conv('c2', 'p1', 'c2', 8, 3, 1, 1),
];
const model = tinyModel(layers, 'random');

describe('batch size', () => {
  it('counts the input and every blob on the way to the blobs asked for, once each', () => {
    // data 3·32·32, c1 16·32·32 (the in-place ReLU writes it again), p1 16·16·16.
    expect(activationBytes(model, ['p1'])).toEqual({ total: 4 * (3 * 1024 + 16 * 1024 + 16 * 256), largest: 4 * 16 * 1024 });
    expect(activationBytes(model, ['c2']).total).toBe(4 * (3 * 1024 + 16 * 1024 + 16 * 256 + 8 * 256));
  });

  it('is 8 on the CPU engines, whatever the model', () => {
    expect(batchFor(model, ['c2'], null)).toBe(CPU_BATCH);
  });

  it('on a GPU: the largest power of two whose largest activation fits one binding', () => {
    const { largest } = activationBytes(model, ['c2']);
    const memoryBytes = 2 ** 40;
    expect(batchFor(model, ['c2'], { maxBindingBytes: largest * 40, memoryBytes })).toBe(32);
    expect(batchFor(model, ['c2'], { maxBindingBytes: largest * 64, memoryBytes })).toBe(64);
    expect(batchFor(model, ['c2'], { maxBindingBytes: 2 ** 40, memoryBytes })).toBe(MAX_BATCH);
    expect(batchFor(model, ['c2'], { maxBindingBytes: largest - 1, memoryBytes })).toBe(1);
  });

  it('on a GPU: three times the batch’s activations within the memory allowed', () => {
    const c1 = activationBytes(model, ['c1']).total;
    const memoryBytes = 3 * c1 * 32;
    expect(batchFor(model, ['c1'], { maxBindingBytes: 2 ** 40, memoryBytes })).toBe(32);
    // A deeper blob keeps more activations: a smaller batch.
    expect(batchFor(model, ['c2'], { maxBindingBytes: 2 ** 40, memoryBytes })).toBe(16);
    expect(batchFor(model, ['c2'], { maxBindingBytes: 2 ** 40, memoryBytes: 3 * c1 - 1 })).toBe(1);
  });

  it('DEEPVIS_GPU_MEMORY sets the memory in GiB (default 2); a bad value is one line', () => {
    expect(gpuMemoryBytes({})).toBe(2 * 2 ** 30);
    expect(gpuMemoryBytes({ DEEPVIS_GPU_MEMORY: '40' })).toBe(40 * 2 ** 30);
    expect(gpuMemoryBytes({ DEEPVIS_GPU_MEMORY: '0.5' })).toBe(2 ** 29);
    expect(() => gpuMemoryBytes({ DEEPVIS_GPU_MEMORY: 'lots' })).toThrow(/^DEEPVIS_GPU_MEMORY must be a positive number of GiB, got "lots"$/);
    expect(() => gpuMemoryBytes({ DEEPVIS_GPU_MEMORY: '-1' })).toThrow(/positive number of GiB/);
  });
});
