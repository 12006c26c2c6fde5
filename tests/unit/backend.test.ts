import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { autoBackend, autoBackendFor, initBackend, parseBackend } from '../../pipeline/engine/backend.ts';
import { importOnnx } from '../../pipeline/import/onnx/import.ts';
import { readModel } from '../../pipeline/import/onnx/proto.ts';
import type { Model } from '../../pipeline/graph/types.ts';
import { vitOnnx } from '../helpers/onnx-families.ts';

const require = createRequire(import.meta.url);
const installed = (p: string) => {
  try {
    require.resolve(p);
    return true;
  } catch {
    return false;
  }
};
const hasTfNode = installed('@tensorflow/tfjs-node') || installed('@tensorflow/tfjs-node-gpu');

describe('initBackend', () => {
  it('starts wasm and cpu and says which runs', async () => {
    expect(await initBackend('wasm')).toBe('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(Array.from(tf.add(tf.ones([2]), 1).dataSync())).toEqual([2, 2]);
    expect(await initBackend('cpu')).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
  });

  it('auto takes tfjs-node when installed, else ONNX Runtime (a dependency), and says which', async () => {
    const want = hasTfNode ? 'tensorflow' : 'onnxruntime';
    expect(await initBackend('auto')).toBe(want);
    expect(autoBackend()).toBe(want);
    // ONNX Runtime runs the nets; TensorFlow.js runs the tensors around them on wasm.
    if (!hasTfNode) expect(tf.getBackend()).toBe('wasm');
  });

  it('an ONNX Runtime provider this build lacks is a one-line UserError saying how to get it', async () => {
    process.env.DEEPVIS_ORT_PROVIDER = 'tensorrt';
    try {
      await expect(initBackend('onnxruntime')).rejects.toMatchObject({
        name: 'UserError',
        message: expect.stringMatching(/^--ort-provider tensorrt: not in this onnxruntime-node \(it has cpu[^\n]*$/),
      });
    } finally {
      delete process.env.DEEPVIS_ORT_PROVIDER;
    }
  });

  it.skipIf(hasTfNode)('an explicit tensorflow without tfjs-node is a UserError, not a fallback', async () => {
    await initBackend('wasm');
    await expect(initBackend('tensorflow')).rejects.toMatchObject({ name: 'UserError', message: expect.stringMatching(/tfjs-node/) });
    expect(tf.getBackend()).toBe('wasm');
  });

  it.skipIf(installed('webgpu'))('an explicit webgpu without the "webgpu" package is a UserError saying how to get it', async () => {
    await initBackend('wasm');
    await expect(initBackend('webgpu')).rejects.toMatchObject({
      name: 'UserError',
      message: expect.stringMatching(/needs the optional package "webgpu" \(npm install webgpu\)/),
    });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('auto for one model: ONNX Runtime for image models of every kind (a ViT included), wasm for other inputs', () => {
    const { graph } = importOnnx(readModel(vitOnnx(6, 17).bytes, 'vit.onnx'), { file: 'vit.onnx' });
    const vit = { id: 'vit', graph, source: 'vit.onnx', preprocess: {} } as unknown as Model;
    expect(autoBackendFor(vit)).toBe(hasTfNode ? 'tensorflow' : 'onnxruntime');
    const vector = { ...vit, graph: { ...graph, input: { ...graph.input, shape: [16] } } } as unknown as Model;
    expect(autoBackendFor(vector)).toBe(hasTfNode ? 'tensorflow' : 'wasm');
  });

  it('rejects unknown names', async () => {
    await expect(initBackend('gpu' as never)).rejects.toMatchObject({ name: 'UserError' });
    expect(() => parseBackend('gpu')).toThrow(/--backend must be one of auto, onnxruntime, tensorflow, webgpu, wasm, cpu/);
    expect(parseBackend(undefined)).toBe('auto');
  });
});
