/**
 * TF.js Graph models: a GraphDef (as tfjs-converter writes it) built in the test, executed by
 * tfjs's own GraphModel (reference) and imported by deepvis: every node computed from the image
 * agrees within 1e-4 of the blob's largest value.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../../pipeline/engine/backend.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { randn, rng } from '../helpers/net-graph.ts';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const ints = (v: number[]) => ({ list: { i: v.map(String) } });
const T = { type: 'DT_FLOAT' };
const NHWC = { s: b64('NHWC') };

interface GNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, unknown>;
}

/** A graph model: nodes plus Const weights (float32 or int32) in one manifest group. */
class GraphBuilder {
  nodes: GNode[] = [];
  specs: { name: string; shape: number[]; dtype: string }[] = [];
  chunks: Uint8Array[] = [];
  private r = rng(21);
  node(name: string, op: string, input: string[] = [], attr: Record<string, unknown> = {}): string {
    this.nodes.push({ name, op, input, attr: { T, ...attr } });
    return name;
  }
  const(name: string, shape: number[], values?: number[], dtype: 'float32' | 'int32' = 'float32', scale = 0.3): string {
    const n = shape.reduce((a, d) => a * d, 1);
    const data = values ?? Array.from(randn(this.r, n, scale));
    const buf = dtype === 'float32' ? new Float32Array(data) : new Int32Array(data);
    this.chunks.push(new Uint8Array(buf.buffer));
    this.specs.push({ name, shape, dtype });
    this.nodes.push({
      name,
      op: 'Const',
      attr: {
        dtype: { type: dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32' },
        value: { tensor: { dtype: dtype === 'float32' ? 'DT_FLOAT' : 'DT_INT32', tensorShape: { dim: shape.map((s) => ({ size: String(s) })) } } },
      },
    });
    return name;
  }
  weightData(): ArrayBuffer {
    const out = new Uint8Array(this.chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out.buffer;
  }
}

function buildGraph(): GraphBuilder {
  const g = new GraphBuilder();
  g.nodes.push({ name: 'x', op: 'Placeholder', attr: { dtype: T, shape: { shape: { dim: [-1, 17, 15, 3].map((s) => ({ size: String(s) })) } } } });
  const conv = (name: string, op: string, x: string, w: string, extra: Record<string, unknown>, inputs: string[] = []) =>
    g.node(name, op, [x, w, ...inputs], {
      strides: ints([1, 1, 1, 1]),
      padding: { s: b64('SAME') },
      data_format: NHWC,
      dilations: ints([1, 1, 1, 1]),
      ...extra,
    });
  conv(
    'conv1',
    '_FusedConv2D',
    'x',
    g.const('w1', [3, 3, 3, 8]),
    { strides: ints([1, 2, 2, 1]), fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu')] } }, num_args: { i: '1' } },
    [g.const('b1', [8])],
  );
  conv(
    'dw',
    'FusedDepthwiseConv2dNative',
    'conv1',
    g.const('wd', [3, 3, 8, 2]),
    { padding: { s: b64('VALID') }, fused_ops: { list: { s: [b64('BiasAdd'), b64('Relu6')] } }, num_args: { i: '1' } },
    [g.const('bd', [16])],
  );
  g.node(
    'bn',
    'FusedBatchNormV3',
    [
      'dw',
      g.const(
        'gamma',
        [16],
        Array.from({ length: 16 }, (_, i) => 1 + i / 16),
      ),
      g.const('beta', [16]),
      g.const('mean', [16]),
      g.const(
        'var',
        [16],
        Array.from({ length: 16 }, (_, i) => 0.5 + i / 10),
      ),
    ],
    { epsilon: { f: 0.001 }, data_format: NHWC, U: T },
  );
  g.node('pool', 'MaxPool', ['bn'], { ksize: ints([1, 3, 3, 1]), strides: ints([1, 2, 2, 1]), padding: { s: b64('SAME') }, data_format: NHWC });
  conv('conv2', 'Conv2D', 'pool', g.const('w2', [2, 2, 16, 6]), { padding: { s: b64('VALID') } });
  g.node('bias2', 'BiasAdd', ['conv2', g.const('b2', [6])], { data_format: NHWC });
  g.node('act2', 'Elu', ['bias2']);
  g.node('shift', 'AddV2', ['act2', g.const('c_add', [6])]);
  g.node('gate', 'Sigmoid', ['shift']);
  g.node('gated', 'Mul', ['shift', 'gate']);
  g.node('padded', 'Pad', ['gated', g.const('paddings', [4, 2], [0, 0, 1, 0, 0, 2, 0, 0], 'int32')]);
  g.node('avg', 'AvgPool', ['padded'], { ksize: ints([1, 2, 2, 1]), strides: ints([1, 2, 2, 1]), padding: { s: b64('SAME') }, data_format: NHWC });
  g.node('gmean', 'Mean', ['avg', g.const('axes', [2], [1, 2], 'int32')], { keep_dims: { b: false }, Tidx: { type: 'DT_INT32' } });
  g.node('flat', 'Reshape', ['avg', g.const('shape', [2], [-1, 2 * 2 * 6], 'int32')], { Tshape: { type: 'DT_INT32' } });
  g.node('cat', 'ConcatV2', ['gmean', 'flat', g.const('axis', [], [1], 'int32')], { N: { i: '2' }, Tidx: { type: 'DT_INT32' } });
  g.node('fc', '_FusedMatMul', ['cat', g.const('wfc', [30, 5]), g.const('bfc', [5])], {
    transpose_a: { b: false },
    transpose_b: { b: false },
    fused_ops: { list: { s: [b64('BiasAdd')] } },
    num_args: { i: '1' },
  });
  g.node('prob', 'Softmax', ['fc']);
  return g;
}

let dir: string;

describe('TF.js Graph models', () => {
  beforeAll(async () => {
    await initBackend('cpu');
    dir = mkdtempSync(join(tmpdir(), 'deepvis-tfjs-graph-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every node computed from the image equals tfjs GraphModel', async () => {
    const g = buildGraph();
    const topology = { node: g.nodes, versions: { producer: 1 } };
    const weightData = g.weightData();
    const reference = await tf.loadGraphModel(
      tf.io.fromMemory({ modelTopology: topology, weightSpecs: g.specs as tf.io.WeightsManifestEntry[], weightData, format: 'graph-model' }),
    );
    writeFileSync(
      join(dir, 'model.json'),
      JSON.stringify({ format: 'graph-model', modelTopology: topology, weightsManifest: [{ paths: ['weights.bin'], weights: g.specs }] }),
    );
    writeFileSync(join(dir, 'weights.bin'), new Uint8Array(weightData));
    const model = await loadModel(dir);
    expect(model.graph.input.shape).toEqual([3, 17, 15]);
    const blobs = model.graph.blobs.map((b) => b.name).filter((n) => n !== 'x' && !n.includes('/'));
    expect(blobs).toEqual([
      'conv1',
      'dw',
      'bn',
      'pool',
      'conv2',
      'bias2',
      'act2',
      'shift',
      'gate',
      'gated',
      'padded',
      'avg',
      'gmean',
      'flat',
      'cat',
      'fc',
      'prob',
    ]);
    const x = tf.tensor4d(randn(rng(5), 2 * 17 * 15 * 3), [2, 17, 15, 3]);
    const want = reference.execute(x, blobs) as tf.Tensor[];
    const net = createNet(model);
    const got = net.forward(x, blobs);
    for (let i = 0; i < blobs.length; i++) {
      const name = blobs[i];
      expect(got[name].shape, name).toEqual(want[i].shape);
      const w = await want[i].data(),
        v = await got[name].data();
      let num = 0,
        den = 0;
      for (let k = 0; k < w.length; k++) {
        num = Math.max(num, Math.abs(w[k] - v[k]));
        den = Math.max(den, Math.abs(w[k]));
      }
      expect(den, name).toBeGreaterThan(0);
      expect(num / den, name).toBeLessThan(1e-4);
    }
    tf.dispose([x, ...want, ...Object.values(got)]);
    net.dispose();
  });

  it('an unsupported operation is a UserError naming the node and op', async () => {
    const g = new GraphBuilder();
    g.nodes.push({ name: 'x', op: 'Placeholder', attr: { dtype: T, shape: { shape: { dim: [1, 8, 8, 3].map((s) => ({ size: String(s) })) } } } });
    g.node('resized', 'ResizeBilinear', ['x', g.const('size', [2], [16, 16], 'int32')]);
    const sub = join(dir, 'bad');
    (await import('node:fs')).mkdirSync(sub, { recursive: true });
    writeFileSync(
      join(sub, 'model.json'),
      JSON.stringify({ format: 'graph-model', modelTopology: { node: g.nodes }, weightsManifest: [{ paths: ['w.bin'], weights: g.specs }] }),
    );
    writeFileSync(join(sub, 'w.bin'), new Uint8Array(g.weightData()));
    await expect(loadModel(sub)).rejects.toThrow(/layer "resized" \(ResizeBilinear\): operation not supported/);
  });
});
