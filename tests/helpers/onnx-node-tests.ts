/**
 * Runs one ONNX backend node test (onnx/backend/test/data/node/test_*: model.onnx +
 * test_data_set_0/{input,output}_N.pb) through the importer and the tfjs executor.
 *
 * deepvis networks take ONE image input whose axis 0 is the batch. A node test's extra inputs
 * (weights, the second operand, pads…) are bound as constants (initializers). When such an operand
 * of an elementwise/broadcasting op carries the batch axis (same rank as the data and the same
 * size N > 1 on axis 0), the test runs image by image, binding that image's slice, and the
 * outputs are stacked: the same values, computed as per-image networks compute them.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { importOnnx } from '../../pipeline/import/onnx/import.ts';
import { readModel, readTensor, type ModelProto, type TensorProto } from '../../pipeline/import/onnx/proto.ts';
import { decodeTensor, numel, type Tensor } from '../../pipeline/import/onnx/tensor.ts';
import { onnxReader } from '../../pipeline/import/onnx/wire.ts';
import { createNet } from '../../pipeline/engine/net/build.ts';
import { layoutToNchw, nchwToLayout } from '../../pipeline/engine/net/layout.ts';
import type { Model } from '../../pipeline/graph/types.ts';

/** Where Debian's libonnx-testdata (or ONNX_TESTDATA) keeps data/node. */
export function nodeTestDir(): string | undefined {
  const candidates = [
    process.env.ONNX_TESTDATA && join(process.env.ONNX_TESTDATA, 'node'),
    process.env.ONNX_TESTDATA,
    '/usr/share/libonnx-testdata/data/node',
    '/usr/lib/python3/dist-packages/onnx/backend/test/data/node',
  ].filter((p): p is string => Boolean(p));
  return candidates.find((p) => existsSync(join(p, 'test_relu', 'model.onnx')));
}

export function listNodeTests(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.startsWith('test_') && existsSync(join(dir, n, 'model.onnx')))
    .sort();
}

function readPb(path: string): TensorProto {
  const buf = readFileSync(path);
  return readTensor(onnxReader(buf, path));
}

/** Ops whose non-first inputs broadcast against the data elementwise (may carry the batch axis). */
const BROADCAST_ROLE: Record<string, (i: number) => boolean> = {
  Add: () => true,
  Sub: () => true,
  Mul: () => true,
  Div: () => true,
  Pow: () => true,
  Max: () => true,
  Min: () => true,
  Sum: () => true,
  Mean: () => true,
  PRelu: () => true,
  Concat: () => true,
  Gemm: (i) => i === 2,
  MatMul: (i) => i === 1,
};

export interface NodeTestResult {
  /** Largest |got − want| − (atol + rtol·|want|) over all outputs (≤ 0: within tolerance). */
  worstExcess: number;
  /** Largest absolute difference. */
  maxAbs: number;
  outputs: number;
  perImage: boolean;
}

function sliceBatch(t: TensorProto, i: number): TensorProto {
  const d = decodeTensor(t, 'test');
  const per = numel(d.dims.slice(1));
  return {
    name: t.name,
    dims: [1, ...d.dims.slice(1)],
    dataType: 1,
    floatData: [Float32Array.from(d.data.subarray(i * per, (i + 1) * per))],
    int32Data: [],
    int64Data: [],
    doubleData: [],
    uint64Data: [],
  };
}

async function runOnce(model: ModelProto, name: string, x: Tensor, outputs: string[]): Promise<Tensor[]> {
  const { graph } = importOnnx(model, { file: name, anyInput: true });
  const m: Model = {
    id: name,
    graph,
    source: name,
    preprocess: { size: [1, 1], resize: [1, 1], channelOrder: 'RGB', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 },
  };
  const net = createNet(m);
  try {
    const lay = nchwToLayout(Float32Array.from(x.data), x.dims);
    const input = tf.tensor(lay.data, lay.shape);
    const res = net.forward(input as tf.Tensor4D, outputs);
    input.dispose();
    const out: Tensor[] = [];
    for (const o of outputs) {
      const t = res[o];
      const back = layoutToNchw((await t.data()) as Float32Array, t.shape);
      out.push({ name: o, dims: back.shape, dataType: 1, data: back.data });
      t.dispose();
    }
    return out;
  } finally {
    net.dispose();
  }
}

/** Runs the node test in `dir`; throws what the importer or executor throws. */
export async function runNodeTest(dir: string, rtol = 1e-3, atol = 1e-7): Promise<NodeTestResult> {
  const name = dir.split('/').pop()!;
  const model = readModel(readFileSync(join(dir, 'model.onnx')), name);
  const set = join(dir, 'test_data_set_0');
  const g = model.graph;
  const inputs = g.inputs.filter((v) => !g.initializers.some((t) => t.name === v.name));
  // Not one tensor input to bind the rest to: the importer must refuse the model as it is.
  if (!inputs.length || inputs.some((v) => v.elemType === undefined)) importOnnx(model, { file: name, anyInput: true });
  // The suite stores bfloat16 data as uint16 (numpy has no bfloat16): read values as the model declares them.
  const asDeclared = (t: TensorProto, type: number | undefined): TensorProto => (type && type !== t.dataType ? { ...t, dataType: type } : t);
  const ins = inputs.map((v, i) => ({ ...asDeclared(readPb(join(set, `input_${i}.pb`)), v.elemType), name: v.name }));
  const want = g.outputs.map((o, i) => decodeTensor(asDeclared(readPb(join(set, `output_${i}.pb`)), o.elemType), name));
  const x = decodeTensor(ins[0], name);
  const N = x.dims[0] ?? 1;
  const op = g.nodes.length === 1 ? g.nodes[0].opType : '';
  const batched = ins.map((t, i) => i > 0 && N > 1 && t.dims.length === x.dims.length && t.dims[0] === N && (BROADCAST_ROLE[op]?.(i) ?? false));
  const bind = (sample?: number): ModelProto => ({
    ...model,
    graph: { ...g, initializers: [...g.initializers, ...ins.slice(1).map((t, j) => (sample !== undefined && batched[j + 1] ? sliceBatch(t, sample) : t))] },
  });
  const outputs = g.outputs.map((o) => o.name);
  let got: Tensor[];
  const perImage = batched.some(Boolean);
  if (!perImage) got = await runOnce(bind(), name, x, outputs);
  else {
    const per = numel(x.dims.slice(1));
    const parts: Tensor[][] = [];
    for (let i = 0; i < N; i++) {
      const xi: Tensor = { name: x.name, dims: [1, ...x.dims.slice(1)], dataType: 1, data: x.data.subarray(i * per, (i + 1) * per) };
      parts.push(await runOnce(bind(i), name, xi, outputs));
    }
    got = outputs.map((_, k) => {
      const all = parts.map((p) => p[k]);
      const data = new Float32Array(all.reduce((s, t) => s + t.data.length, 0));
      let o = 0;
      for (const t of all) {
        data.set(t.data, o);
        o += t.data.length;
      }
      return { name: outputs[k], dims: [N, ...all[0].dims.slice(1)], dataType: 1, data };
    });
  }
  let worstExcess = -Infinity,
    maxAbs = 0;
  want.forEach((w, k) => {
    const gk = got[k];
    if (gk.dims.length !== w.dims.length || gk.dims.some((d, i) => d !== w.dims[i])) {
      throw new Error(`output ${k}: shape [${gk.dims}] instead of [${w.dims}]`);
    }
    for (let i = 0; i < w.data.length; i++) {
      const a = gk.data[i],
        b = w.data[i];
      const diff = Math.abs(a - b);
      const excess = a === b || (Number.isNaN(a) && Number.isNaN(b)) ? -1 : Number.isNaN(diff) ? Infinity : diff - (atol + rtol * Math.abs(b));
      worstExcess = Math.max(worstExcess, excess);
      if (!Number.isNaN(diff) && a !== b) maxAbs = Math.max(maxAbs, diff);
    }
  });
  return { worstExcess, maxAbs, outputs: want.length, perImage };
}
