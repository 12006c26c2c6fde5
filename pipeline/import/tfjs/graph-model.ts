import { UserError } from '../../core/errors.ts';
import type { ActivationFn, BinaryOp } from '../../graph/tensor-layers.ts';
import type { Pair, ParamBlob } from '../../graph/types.ts';
import { Emitter } from './emit.ts';
import { samePads, tfPooling } from './layers.ts';
import type { NamedWeight } from './weights.ts';

/**
 * A TF.js Graph model (GraphDef as JSON, NHWC) → Graph layers. Every node computed from the image
 * is a blob named after the node; Const nodes (weights from the manifest, or inline values) are
 * folded into parameters. A tensor [N, H, W, C] is the blob C×H×W; [N, C] is [C].
 */

interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { i?: (string | number)[]; s?: string[]; f?: number[] };
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  tensor?: {
    dtype?: string;
    tensorShape?: { dim?: { size: string | number }[] };
    floatVal?: number[];
    intVal?: number[];
    int64Val?: (string | number)[];
    tensorContent?: string;
  };
}
interface Const {
  shape: number[];
  data: Float32Array;
}
interface Val {
  blob: string;
  shape: number[];
}

const b64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));
const count = (s: number[]) => s.reduce((a, d) => a * d, 1);
/** NHWC-order per-image axes of a blob of `rank` NCHW axes: position i of the TF tensor (after N) ↔ NCHW axis. */
const tfToNchw = (r: number) => (r <= 1 ? [0] : [...Array.from({ length: r - 1 }, (_, i) => i + 1), 0]);

/** Transposes row-major data of shape `shape` by `perm`. */
function transposeData(data: Float32Array, shape: number[], perm: number[]): Float32Array {
  const out = new Float32Array(data.length);
  const od = perm.map((p) => shape[p]);
  const is = shape.map((_, i) => count(shape.slice(i + 1)));
  const os = od.map((_, i) => count(od.slice(i + 1)));
  for (let i = 0; i < out.length; i++) {
    let src = 0;
    for (let k = 0; k < od.length; k++) src += (Math.floor(i / os[k]) % od[k]) * is[perm[k]];
    out[i] = data[src];
  }
  return out;
}

export function convertGraphDef(
  topology: Record<string, unknown>,
  file: string,
  weights: Map<string, NamedWeight> | undefined,
  inputShape?: number[],
  _signature?: Record<string, unknown>,
): { em: Emitter; outputs: string[] } {
  const nodes = (topology.node ?? []) as TfNode[];
  const em = new Emitter(file);
  const vals = new Map<string, Val>();
  const consts = new Map<string, Const>();
  const consumers = new Set(nodes.flatMap((n) => (n.input ?? []).map((i) => i.replace(/^\^/, '').replace(/:0$/, ''))));
  const fail = (n: TfNode, msg: string): never => em.fail(n.name, n.op, msg);
  const attr = (n: TfNode, k: string) => n.attr?.[k];
  const ints = (n: TfNode, k: string) => (attr(n, k)?.list?.i ?? []).map(Number);
  const str = (n: TfNode, k: string) => b64(attr(n, k)?.s);
  const inputs = (n: TfNode) => (n.input ?? []).filter((i) => !i.startsWith('^')).map((i) => i.replace(/:0$/, ''));
  const val = (n: TfNode, i: number): Val => {
    const name = inputs(n)[i];
    return (
      vals.get(name) ??
      fail(n, consts.has(name) ? `input "${name}" is a constant where image data is needed` : `input "${name}" is not computed (unsupported or out of order)`)
    );
  };
  const cst = (n: TfNode, i: number): Const => {
    const name = inputs(n)[i];
    return consts.get(name) ?? fail(n, `input "${name}" must be a constant`);
  };
  const nhwc = (n: TfNode) => {
    const f = str(n, 'data_format');
    if (f && f !== 'NHWC') fail(n, `data_format ${f} is not supported (NHWC only)`);
  };
  const hw = (v: number[]): Pair => [v[1], v[2]];

  const convLike = (n: TfNode, depthwise: boolean, fused: string[]) => {
    nhwc(n);
    const x = val(n, 0);
    if (x.shape.length !== 3) fail(n, `needs an image tensor, got per-image ${x.shape.join('×')}`);
    const w = cst(n, 1);
    const [kh, kw, ci, co] = w.shape;
    const C = x.shape[0];
    const stride = hw(ints(n, 'strides'));
    const dilation = ints(n, 'dilations').length ? hw(ints(n, 'dilations')) : ([1, 1] as Pair);
    const padding = str(n, 'padding') ?? 'VALID';
    let begin: Pair = [0, 0],
      end: Pair = [0, 0];
    if (padding === 'SAME') [begin, end] = samePads([x.shape[1], x.shape[2]], [kh, kw], stride, dilation);
    else if (padding === 'EXPLICIT') {
      const p = ints(n, 'explicit_paddings');
      begin = [p[2], p[4]];
      end = [p[3], p[5]];
    } else if (padding !== 'VALID') fail(n, `padding ${padding} is not supported`);
    let blob = x.blob;
    if (begin[0] !== end[0] || begin[1] !== end[1]) {
      blob = em.blobName(`${n.name}/pad`);
      em.emit({
        kind: 'pad',
        name: em.layerName(`${n.name}/pad`),
        bottoms: [x.blob],
        tops: [blob],
        pads: [0, begin[0], begin[1], 0, end[0], end[1]],
        mode: 'constant',
        value: 0,
      });
      begin = [0, 0];
    }
    const out = depthwise ? ci * co : co;
    const wt = new Float32Array(w.data.length);
    if (depthwise) {
      for (let y = 0; y < kh; y++)
        for (let xx = 0; xx < kw; xx++)
          for (let c = 0; c < ci; c++) for (let j = 0; j < co; j++) wt[((c * co + j) * kh + y) * kw + xx] = w.data[((y * kw + xx) * ci + c) * co + j];
    } else {
      for (let y = 0; y < kh; y++)
        for (let xx = 0; xx < kw; xx++)
          for (let c = 0; c < ci; c++) for (let o = 0; o < co; o++) wt[((o * ci + c) * kh + y) * kw + xx] = w.data[((y * kw + xx) * ci + c) * co + o];
    }
    const group = depthwise ? C : C / ci;
    const bias = fused[0] === 'BiasAdd' ? cst(n, 2) : undefined;
    const params: ParamBlob[] = [{ shape: [out, depthwise ? 1 : ci, kh, kw], data: wt }, ...(bias ? [{ shape: [out], data: bias.data }] : [])];
    const act = fused.slice(bias ? 1 : 0);
    const top = act.length ? em.blobName(`${n.name}/preact`) : n.name;
    em.emit(
      {
        kind: 'conv',
        name: em.layerName(n.name),
        bottoms: [blob],
        tops: [top],
        numOutput: out,
        kernel: [kh, kw],
        stride,
        pad: begin,
        dilation,
        group,
        biasTerm: Boolean(bias),
      },
      params,
    );
    if (act.length) activation(n, act[0], top);
  };

  const activation = (n: TfNode, op: string, x: string) => {
    const base = { name: em.layerName(x.endsWith('/preact') ? `${n.name}/${op.toLowerCase()}` : n.name), bottoms: [x], tops: [n.name] };
    const fns: Record<string, ActivationFn> = {
      Sigmoid: 'sigmoid',
      Tanh: 'tanh',
      Elu: 'elu',
      Selu: 'selu',
      Softplus: 'softplus',
      Softsign: 'softsign',
      Exp: 'exp',
      Log: 'log',
      Abs: 'abs',
      Neg: 'neg',
      Sqrt: 'sqrt',
      Reciprocal: 'reciprocal',
    };
    if (op === 'Relu') em.emit({ kind: 'relu', ...base, negativeSlope: 0 });
    else if (op === 'LeakyRelu') em.emit({ kind: 'relu', ...base, negativeSlope: Number(attr(n, 'alpha')?.f ?? attr(n, 'leakyrelu_alpha')?.f ?? 0.2) });
    else if (op === 'Relu6') em.emit({ kind: 'clip', ...base, min: 0, max: 6 });
    else if (fns[op]) {
      const selu = op === 'Selu';
      em.emit({ kind: 'activation', ...base, fn: fns[op], alpha: selu ? 1.6732632423543772 : 1, beta: 0, gamma: selu ? 1.0507009873554805 : 1 });
    } else fail(n, `fused activation ${op} is not supported`);
  };

  /** A constant in NHWC broadcasting position against a blob of `rank` NCHW axes → per-image NCHW shape and data. */
  const alignConst = (n: TfNode, c: Const, rank: number): { shape: number[]; data: Float32Array } => {
    if (c.shape.length > rank + 1) fail(n, `constant of shape [${c.shape}] has more axes than the image tensor`);
    const aligned = [...Array(rank + 1 - c.shape.length).fill(1), ...c.shape];
    if (aligned[0] !== 1) fail(n, `constant of shape [${c.shape}] varies along the batch axis`);
    const tfShape = aligned.slice(1);
    const toN = tfToNchw(rank); // tf position → nchw axis; nchw axis k at tf position toN.indexOf(k)
    const perm = Array.from({ length: rank }, (_, k) => toN.indexOf(k));
    return { shape: perm.map((p) => tfShape[p]), data: transposeData(c.data, tfShape, perm) };
  };

  const binary = (n: TfNode, op: BinaryOp) => {
    const [a, b] = inputs(n);
    const ac = consts.get(a),
      bc = consts.get(b);
    if (!ac && !bc) {
      const x = val(n, 0),
        y = val(n, 1);
      if (x.shape.length !== y.shape.length) fail(n, 'operands of different ranks would mix the batch axis into the image axes');
      const same = x.shape.join() === y.shape.join();
      if (same && (op === 'add' || op === 'mul' || op === 'sub' || op === 'max'))
        em.emit({
          kind: 'eltwise',
          name: em.layerName(n.name),
          bottoms: [x.blob, y.blob],
          tops: [n.name],
          op: op === 'mul' ? 'prod' : op === 'max' ? 'max' : 'sum',
          coeffs: op === 'sub' ? [1, -1] : [],
        });
      else em.emit({ kind: 'binary', name: em.layerName(n.name), bottoms: [x.blob, y.blob], tops: [n.name], op, constant: 'none' });
      return;
    }
    const x = ac ? val(n, 1) : val(n, 0);
    const c = alignConst(n, (ac ?? bc)!, x.shape.length);
    em.emit({ kind: 'binary', name: em.layerName(n.name), bottoms: [x.blob], tops: [n.name], op, constant: ac ? 'first' : 'second', constShape: c.shape }, [
      { shape: [1, ...c.shape], data: c.data },
    ]);
  };

  /** Reshape in TF (NHWC, row-major) semantics → reshape layer with NCHW↔NHWC permutations. */
  const reshapeTo = (n: TfNode, x: Val, target: number[]) => {
    const pre = tfToNchw(x.shape.length);
    const total = count(x.shape);
    const t = [...target];
    const free = t.indexOf(-1);
    if (free >= 0) t[free] = total / count(t.filter((d) => d !== -1));
    if (count(t) !== total) fail(n, `cannot reshape ${x.shape.join('×')} to [${target}]`);
    const post = t.length <= 1 ? undefined : [t.length - 1, ...Array.from({ length: t.length - 1 }, (_, i) => i)];
    const plainPre = pre.every((p, i) => p === i);
    em.emit({
      kind: 'reshape',
      name: em.layerName(n.name),
      bottoms: [x.blob],
      tops: [n.name],
      ...(plainPre ? {} : { pre }),
      shape: t,
      ...(post ? { post } : {}),
    });
  };

  for (const n of nodes) {
    const ins = inputs(n);
    switch (n.op) {
      case 'Placeholder': {
        if (em.inputBlob) fail(n, 'a second input: deepvis needs exactly one image input');
        const dims = (attr(n, 'shape')?.shape?.dim ?? []).map((d) => Number(d.size));
        if (dims.length !== 4) fail(n, `input shape [${dims}] is not an image [N, H, W, C]`);
        const [, h, w, c] = dims.map((d, i) => (d > 0 ? d : i === 0 ? 1 : (inputShape?.[[0, 1, 2, 0][i]] ?? -1)));
        if ([h, w, c].some((d) => !(d > 0))) fail(n, `input shape [${dims}] has unknown sizes; give the input size (deepvis.json "inputShape": [C, H, W])`);
        em.input(n.name, [c, h, w]);
        vals.set(n.name, { blob: n.name, shape: [c, h, w] });
        continue;
      }
      case 'Const': {
        const w = weights?.get(n.name);
        const t = attr(n, 'value')?.tensor;
        if (w) consts.set(n.name, { shape: w.shape, data: w.data });
        else if (t) {
          const shape = (t.tensorShape?.dim ?? []).map((d) => Number(d.size));
          let data: Float32Array;
          if (t.tensorContent) {
            const bytes = Buffer.from(t.tensorContent, 'base64');
            data = t.dtype === 'DT_FLOAT' ? new Float32Array(new Uint8Array(bytes).buffer) : Float32Array.from(new Int32Array(new Uint8Array(bytes).buffer));
          } else {
            const v = (t.floatVal ?? t.intVal ?? t.int64Val ?? []).map(Number);
            data = Float32Array.from({ length: count(shape) }, (_, i) => v[Math.min(i, v.length - 1)] ?? 0);
          }
          consts.set(n.name, { shape, data });
        } else if (weights) fail(n, 'constant has no value in the weights manifest');
        else consts.set(n.name, { shape: [], data: new Float32Array(0) });
        continue;
      }
      case 'NoOp':
        continue;
    }
    if (ins.every((i) => consts.has(i)) && ins.length) {
      if (n.op === 'Identity') {
        consts.set(n.name, consts.get(ins[0])!);
        continue;
      }
      fail(n, 'computing on constants at load time is not supported (fold constants when converting)');
    }
    switch (n.op) {
      case 'Identity':
      case 'StopGradient':
      case 'Snapshot':
      case 'IdentityN':
        em.emit({ kind: 'identity', name: em.layerName(n.name), bottoms: [val(n, 0).blob], tops: [n.name] });
        break;
      case 'Conv2D':
        convLike(n, false, []);
        break;
      case 'DepthwiseConv2dNative':
        convLike(n, true, []);
        break;
      case '_FusedConv2D':
      case 'FusedDepthwiseConv2dNative': {
        const fused = (attr(n, 'fused_ops')?.list?.s ?? []).map((s) => b64(s)!);
        if (fused.length > 2 || (fused.length && fused[0] !== 'BiasAdd')) fail(n, `fused ops ${fused.join('+')} are not supported`);
        convLike(n, n.op !== '_FusedConv2D', fused);
        break;
      }
      case 'BiasAdd':
      case 'Add':
      case 'AddV2':
        binary(n, 'add');
        break;
      case 'Sub':
        binary(n, 'sub');
        break;
      case 'Mul':
        binary(n, 'mul');
        break;
      case 'RealDiv':
      case 'Div':
        binary(n, 'div');
        break;
      case 'Maximum':
        binary(n, 'max');
        break;
      case 'Minimum':
        binary(n, 'min');
        break;
      case 'Prelu':
        binary(n, 'prelu');
        break;
      case 'Relu':
      case 'Relu6':
      case 'LeakyRelu':
      case 'Elu':
      case 'Selu':
      case 'Sigmoid':
      case 'Tanh':
      case 'Softplus':
      case 'Softsign':
      case 'Exp':
      case 'Log':
      case 'Abs':
      case 'Neg':
      case 'Sqrt':
      case 'Reciprocal':
        activation(n, n.op, val(n, 0).blob);
        break;
      case 'FusedBatchNorm':
      case 'FusedBatchNormV2':
      case 'FusedBatchNormV3': {
        nhwc(n);
        const x = val(n, 0);
        const [s, o, m, v] = [1, 2, 3, 4].map((i) => cst(n, i).data);
        const eps = Number(attr(n, 'epsilon')?.f ?? 1e-3);
        const C = x.shape[0];
        const a = new Float32Array(C),
          b = new Float32Array(C);
        for (let c = 0; c < C; c++) {
          a[c] = s[c] / Math.sqrt(v[c] + eps);
          b[c] = o[c] - m[c] * a[c];
        }
        em.emit({ kind: 'scale', name: em.layerName(n.name), bottoms: [x.blob], tops: [n.name], biasTerm: true }, [
          { shape: [C], data: a },
          { shape: [C], data: b },
        ]);
        break;
      }
      case 'MaxPool':
      case 'AvgPool': {
        nhwc(n);
        const x = val(n, 0);
        const kernel = hw(ints(n, 'ksize')),
          stride = hw(ints(n, 'strides'));
        em.emit(
          tfPooling(
            em.layerName(n.name),
            x.blob,
            n.name,
            n.op === 'MaxPool' ? 'max' : 'ave',
            [x.shape[1], x.shape[2]],
            kernel,
            stride,
            str(n, 'padding') === 'SAME',
          ),
        );
        break;
      }
      case 'Mean':
      case 'Max':
      case 'Sum':
      case 'Min': {
        const x = val(n, 0);
        const r = x.shape.length;
        const toN = tfToNchw(r);
        const axes = Array.from(cst(n, 1).data).map((a) => (a < 0 ? a + r + 1 : a));
        if (axes.includes(0)) fail(n, 'reduces over the batch axis');
        em.emit({
          kind: 'reduce',
          name: em.layerName(n.name),
          bottoms: [x.blob],
          tops: [n.name],
          op: n.op.toLowerCase() as 'mean',
          axes: axes.map((a) => toN[a - 1]),
          keepDims: Boolean(attr(n, 'keep_dims')?.b),
        });
        break;
      }
      case 'MatMul':
      case '_FusedMatMul': {
        const x = val(n, 0);
        if (x.shape.length !== 1) fail(n, `needs a [N, K] input, got per-image ${x.shape.join('×')}`);
        if (attr(n, 'transpose_a')?.b) fail(n, 'transpose_a takes the batch from axis 1');
        const w = cst(n, 1);
        const tb = Boolean(attr(n, 'transpose_b')?.b);
        const [K, M] = tb ? [w.shape[1], w.shape[0]] : w.shape;
        const wt = new Float32Array(K * M);
        for (let o = 0; o < M; o++) for (let k = 0; k < K; k++) wt[o * K + k] = tb ? w.data[o * K + k] : w.data[k * M + o];
        const fused = (attr(n, 'fused_ops')?.list?.s ?? []).map((s) => b64(s)!);
        const bias = fused[0] === 'BiasAdd' ? cst(n, 2) : undefined;
        const act = fused.slice(bias ? 1 : 0);
        const top = act.length ? em.blobName(`${n.name}/preact`) : n.name;
        em.emit({ kind: 'fc', name: em.layerName(n.name), bottoms: [x.blob], tops: [top], numOutput: M, biasTerm: Boolean(bias) }, [
          { shape: [M, K], data: wt },
          ...(bias ? [{ shape: [M], data: bias.data }] : []),
        ]);
        if (act.length) activation(n, act[0], top);
        break;
      }
      case 'Reshape': {
        const x = val(n, 0);
        const target = Array.from(cst(n, 1).data);
        if (target[0] !== -1 && target[0] !== 1) fail(n, `target shape [${target}] does not keep the batch on axis 0`);
        if (target[0] === -1 && target.slice(1).includes(-1)) fail(n, `target shape [${target}] is ambiguous`);
        reshapeTo(n, x, target.slice(1));
        break;
      }
      case 'Squeeze': {
        const x = val(n, 0);
        const r = x.shape.length;
        const tfShape = tfToNchw(r).map((k) => x.shape[k]);
        const dims = ints(n, 'squeeze_dims').length ? ints(n, 'squeeze_dims') : ints(n, 'axis');
        const drop = (dims.length ? dims : tfShape.flatMap((d, i) => (d === 1 ? [i + 1] : []))).map((a) => (a < 0 ? a + r + 1 : a));
        if (drop.includes(0)) fail(n, 'squeezes the batch axis');
        reshapeTo(
          n,
          x,
          tfShape.filter((_, i) => !drop.includes(i + 1)),
        );
        break;
      }
      case 'ConcatV2':
      case 'Concat': {
        const axisIn = n.op === 'ConcatV2' ? ins.length - 1 : 0;
        const parts = ins.filter((_, i) => i !== axisIn).map((_, i) => val(n, n.op === 'ConcatV2' ? i : i + 1));
        const r = parts[0].shape.length;
        let axis = cst(n, axisIn).data[0];
        if (axis < 0) axis += r + 1;
        if (axis === 0) fail(n, 'concatenates along the batch axis');
        const k = tfToNchw(r)[axis - 1];
        if (k === 0 && (r === 1 || r === 3))
          em.emit({ kind: 'concat', name: em.layerName(n.name), bottoms: parts.map((p) => p.blob), tops: [n.name], axis: 1 });
        else em.emit({ kind: 'concatnd', name: em.layerName(n.name), bottoms: parts.map((p) => p.blob), tops: [n.name], axis: k });
        break;
      }
      case 'Pad':
      case 'PadV2':
      case 'MirrorPad': {
        const x = val(n, 0);
        const p = Array.from(cst(n, 1).data);
        const r = x.shape.length;
        if (p.length !== 2 * (r + 1) || p[0] || p[1]) fail(n, `paddings [${p}] must be [[0,0], …] over ${r + 1} axes`);
        const toN = tfToNchw(r);
        const pads = new Array(2 * r).fill(0);
        for (let i = 1; i <= r; i++) {
          pads[toN[i - 1]] = p[2 * i];
          pads[toN[i - 1] + r] = p[2 * i + 1];
        }
        const modeAttr = str(n, 'mode');
        const mode = n.op === 'MirrorPad' ? (modeAttr === 'REFLECT' ? 'reflect' : fail(n, `mirror mode ${modeAttr} is not supported`)) : 'constant';
        const value = n.op === 'PadV2' ? cst(n, 2).data[0] : 0;
        em.emit({ kind: 'pad', name: em.layerName(n.name), bottoms: [x.blob], tops: [n.name], pads, mode, value });
        break;
      }
      case 'Softmax': {
        const x = val(n, 0);
        em.emit({ kind: 'softmax', name: em.layerName(n.name), bottoms: [x.blob], tops: [n.name] });
        break;
      }
      default:
        fail(n, 'operation not supported (docs/import-onnx-tfjs.md lists the supported ones)');
    }
    vals.set(n.name, { blob: n.name, shape: em.shape(n.name) });
  }
  if (!em.inputBlob) throw new UserError(`${file}: the graph has no Placeholder input`);
  const outputs = nodes.filter((n) => vals.has(n.name) && !consumers.has(n.name)).map((n) => n.name);
  return { em, outputs };
}
