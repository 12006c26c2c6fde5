import { BYTES, FIXED32, onnxReader, type Wire } from './wire.ts';

/**
 * A minimal ONNX schema: the messages and fields of onnx.proto that the importer uses, decoded
 * from the wire format into plain objects. Field numbers follow onnx/onnx.proto (IR version ≤ 10).
 * Unknown fields are skipped, as protobuf requires.
 */

/** onnx.TensorProto.DataType values the importer knows. */
export const DataType = {
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  BFLOAT16: 16,
} as const;

export interface TensorProto {
  name: string;
  dims: number[];
  dataType: number;
  /** The typed fields, as stored; at most one is used, depending on dataType. */
  floatData: Float32Array[];
  int32Data: number[];
  int64Data: number[];
  doubleData: number[];
  uint64Data: number[];
  rawData?: Uint8Array;
  /** data_location = EXTERNAL: location, offset, length (… from external_data). */
  external?: Record<string, string>;
}

export interface Dim {
  value?: number;
  param?: string;
}
export interface ValueInfo {
  name: string;
  elemType?: number;
  shape?: Dim[];
}

export type AttrValue =
  | { type: 'float'; f: number }
  | { type: 'int'; i: number }
  | { type: 'string'; s: string }
  | { type: 'tensor'; t: TensorProto }
  | { type: 'floats'; floats: number[] }
  | { type: 'ints'; ints: number[] }
  | { type: 'strings'; strings: string[] }
  | { type: 'other'; code: number };

export interface NodeProto {
  name: string;
  opType: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  attrs: Map<string, AttrValue>;
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  initializers: TensorProto[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  valueInfo: ValueInfo[];
}

export interface ModelProto {
  irVersion: number;
  producer: string;
  /** Opset version by domain ('' = the default ai.onnx domain). */
  opsets: Map<string, number>;
  graph: GraphProto;
  metadata: Map<string, string>;
}

function keyValue(w: Wire): [string, string] {
  let k = '';
  let v = '';
  while (!w.done) {
    const [f, t] = w.tag();
    if (f === 1 && t === BYTES) k = w.string();
    else if (f === 2 && t === BYTES) v = w.string();
    else w.skip(t);
  }
  return [k, v];
}

export function readTensor(w: Wire): TensorProto {
  const t: TensorProto = { name: '', dims: [], dataType: 0, floatData: [], int32Data: [], int64Data: [], doubleData: [], uint64Data: [] };
  let location = 0;
  const ext: Record<string, string> = {};
  while (!w.done) {
    const [f, wt] = w.tag();
    switch (f) {
      case 1:
        w.ints(wt, t.dims);
        break;
      case 2:
        t.dataType = w.int64();
        break;
      case 4:
        if (wt === BYTES) {
          const b = w.bytes();
          if (b.length % 4 !== 0) w.fail(`float_data of ${b.length} bytes`);
          t.floatData.push(new Float32Array(new Uint8Array(b).buffer));
        } else if (wt === FIXED32) t.floatData.push(new Float32Array([w.float32()]));
        else w.fail(`float_data with wire type ${wt}`);
        break;
      case 5:
        w.ints(wt, t.int32Data);
        break;
      case 7:
        w.ints(wt, t.int64Data);
        break;
      case 8:
        t.name = w.string();
        break;
      case 9:
        t.rawData = w.bytes();
        break;
      case 10:
        w.doubles(wt, t.doubleData);
        break;
      case 11:
        w.ints(wt, t.uint64Data);
        break;
      case 13: {
        const [k, v] = keyValue(w.sub());
        ext[k] = v;
        break;
      }
      case 14:
        location = w.int64();
        break;
      default:
        w.skip(wt);
    }
  }
  if (location === 1) t.external = ext;
  return t;
}

function readShape(w: Wire): Dim[] {
  const dims: Dim[] = [];
  while (!w.done) {
    const [f, t] = w.tag();
    if (f === 1 && t === BYTES) {
      const d = w.sub();
      const dim: Dim = {};
      while (!d.done) {
        const [g, u] = d.tag();
        if (g === 1) dim.value = d.int64();
        else if (g === 2 && u === BYTES) dim.param = d.string();
        else d.skip(u);
      }
      dims.push(dim);
    } else w.skip(t);
  }
  return dims;
}

function readValueInfo(w: Wire): ValueInfo {
  const v: ValueInfo = { name: '' };
  while (!w.done) {
    const [f, t] = w.tag();
    if (f === 1 && t === BYTES) v.name = w.string();
    else if (f === 2 && t === BYTES) {
      const tp = w.sub();
      while (!tp.done) {
        const [g, u] = tp.tag();
        if (g === 1 && u === BYTES) {
          const tt = tp.sub();
          while (!tt.done) {
            const [h, x] = tt.tag();
            if (h === 1) v.elemType = tt.int64();
            else if (h === 2 && x === BYTES) v.shape = readShape(tt.sub());
            else tt.skip(x);
          }
        } else tp.skip(u);
      }
    } else w.skip(t);
  }
  return v;
}

const ATTR_TYPES: Record<number, AttrValue['type']> = { 1: 'float', 2: 'int', 3: 'string', 4: 'tensor', 6: 'floats', 7: 'ints', 8: 'strings' };

function readAttribute(w: Wire): [string, AttrValue] {
  let name = '';
  let type = 0;
  let f32 = 0;
  let i64 = 0;
  let s = '';
  let tensor: TensorProto | undefined;
  const floats: number[] = [];
  const ints: number[] = [];
  const strings: string[] = [];
  while (!w.done) {
    const [f, t] = w.tag();
    switch (f) {
      case 1:
        name = w.string();
        break;
      case 20:
        type = w.int64();
        break;
      case 2:
        f32 = w.float32();
        break;
      case 3:
        i64 = w.int64();
        break;
      case 4:
        s = w.string();
        break;
      case 5:
        tensor = readTensor(w.sub());
        break;
      case 7:
        w.floats(t, floats);
        break;
      case 8:
        w.ints(t, ints);
        break;
      case 9:
        strings.push(w.string());
        break;
      default:
        w.skip(t);
    }
  }
  const kind = ATTR_TYPES[type];
  switch (kind) {
    case 'float':
      return [name, { type: kind, f: f32 }];
    case 'int':
      return [name, { type: kind, i: i64 }];
    case 'string':
      return [name, { type: kind, s }];
    case 'tensor':
      return [name, tensor ? { type: kind, t: tensor } : { type: 'other', code: type }];
    case 'floats':
      return [name, { type: kind, floats }];
    case 'ints':
      return [name, { type: kind, ints }];
    case 'strings':
      return [name, { type: kind, strings }];
    default:
      return [name, { type: 'other', code: type }];
  }
}

function readNode(w: Wire): NodeProto {
  const n: NodeProto = { name: '', opType: '', domain: '', inputs: [], outputs: [], attrs: new Map() };
  while (!w.done) {
    const [f, t] = w.tag();
    switch (f) {
      case 1:
        n.inputs.push(w.string());
        break;
      case 2:
        n.outputs.push(w.string());
        break;
      case 3:
        n.name = w.string();
        break;
      case 4:
        n.opType = w.string();
        break;
      case 7:
        n.domain = w.string();
        break;
      case 5: {
        const [k, v] = readAttribute(w.sub());
        n.attrs.set(k, v);
        break;
      }
      default:
        w.skip(t);
    }
  }
  return n;
}

export function readGraph(w: Wire): GraphProto {
  const g: GraphProto = { name: '', nodes: [], initializers: [], inputs: [], outputs: [], valueInfo: [] };
  while (!w.done) {
    const [f, t] = w.tag();
    if (t !== BYTES) {
      w.skip(t);
      continue;
    }
    switch (f) {
      case 1:
        g.nodes.push(readNode(w.sub()));
        break;
      case 2:
        g.name = w.string();
        break;
      case 5:
        g.initializers.push(readTensor(w.sub()));
        break;
      case 11:
        g.inputs.push(readValueInfo(w.sub()));
        break;
      case 12:
        g.outputs.push(readValueInfo(w.sub()));
        break;
      case 13:
        g.valueInfo.push(readValueInfo(w.sub()));
        break;
      default:
        w.skip(t);
    }
  }
  return g;
}

/** Decodes a serialized onnx.ModelProto. */
export function readModel(buf: Uint8Array, file: string): ModelProto {
  const w = onnxReader(buf, file);
  const m: ModelProto = { irVersion: 0, producer: '', opsets: new Map(), graph: undefined as unknown as GraphProto, metadata: new Map() };
  while (!w.done) {
    const [f, t] = w.tag();
    switch (f) {
      case 1:
        m.irVersion = w.int64();
        break;
      case 2:
        m.producer = w.string();
        break;
      case 7:
        m.graph = readGraph(w.sub());
        break;
      case 8: {
        const o = w.sub();
        let domain = '';
        let version = 0;
        while (!o.done) {
          const [g, u] = o.tag();
          if (g === 1 && u === BYTES) domain = o.string();
          else if (g === 2) version = o.int64();
          else o.skip(u);
        }
        m.opsets.set(domain === 'ai.onnx' ? '' : domain, version);
        break;
      }
      case 14: {
        const [k, v] = keyValue(w.sub());
        m.metadata.set(k, v);
        break;
      }
      default:
        w.skip(t);
    }
  }
  if (!m.graph) w.fail('no graph (is this an ONNX model file?)', 0);
  return m;
}
