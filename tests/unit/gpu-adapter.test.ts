import { afterEach, describe, expect, it } from 'vitest';
import { adapterMismatch, gpuAdapter, swiftshaderIcd } from '../../pipeline/engine/gpu-adapter.ts';

const SWIFTSHADER = { vendor: 'google', architecture: 'swiftshader', description: 'SwiftShader driver 5.0.0' };
const NVIDIA = { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' };

describe('the WebGPU adapter kind', () => {
  const saved = { a: process.env.DEEPVIS_GPU_ADAPTER, i: process.env.DEEPVIS_SWIFTSHADER_ICD };
  afterEach(() => {
    for (const [k, v] of [
      ['DEEPVIS_GPU_ADAPTER', saved.a],
      ['DEEPVIS_SWIFTSHADER_ICD', saved.i],
    ] as const)
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
  });

  it('a CPU rasteriser is refused unless asked for, and a GPU when SwiftShader was asked for', () => {
    expect(adapterMismatch('gpu', NVIDIA)).toBeUndefined();
    expect(adapterMismatch('swiftshader', SWIFTSHADER)).toBeUndefined();
    expect(adapterMismatch('gpu', SWIFTSHADER)).toMatch(
      /^backend webgpu: the only adapter is google \/ swiftshader .*a CPU rasteriser, not a GPU \(--gpu-adapter swiftshader uses it anyway\)$/,
    );
    expect(adapterMismatch('swiftshader', NVIDIA)).toBe('backend webgpu: --gpu-adapter swiftshader, but the adapter found is nvidia / hopper / NVIDIA H100');
  });

  it('a bad --gpu-adapter or a missing ICD manifest is one line', () => {
    delete process.env.DEEPVIS_GPU_ADAPTER;
    expect(gpuAdapter()).toBe('gpu');
    process.env.DEEPVIS_GPU_ADAPTER = 'swiftshadr';
    expect(() => gpuAdapter()).toThrow(/^--gpu-adapter must be one of gpu, swiftshader, got "swiftshadr"$/);
    process.env.DEEPVIS_SWIFTSHADER_ICD = '/nonexistent/icd.json';
    expect(() => swiftshaderIcd()).toThrow(/^DEEPVIS_SWIFTSHADER_ICD: no file \/nonexistent\/icd.json$/);
  });
});
