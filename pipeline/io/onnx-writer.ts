/**
 * A small ONNX ModelProto encoder: builds models node by node (protobuf wire format written by
 * hand, field numbers of onnx.proto). The ONNX Runtime backend exports the nets it runs with it,
 * and tests make ONNX CNNs with it without Python.
 */

class Buf {
  private chunks: Uint8Array[] = [];
  private small: number[] = [];
  private flush(): void {
    if (this.small.length) this.chunks.push(Uint8Array.from(this.small));
    this.small = [];
  }
  varint(v: number | bigint): this {
    let x = BigInt.asUintN(64, BigInt(v));
    do {
      let b = Number(x & 0x7fn);
      x >>= 7n;
      if (x) b |= 0x80;
      this.small.push(b);
    } while (x);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bytes(field: number, b: Uint8Array): this {
    this.tag(field, 2).varint(b.length);
    this.flush();
    this.chunks.push(b);
    return this;
  }
  str(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  msg(field: number, m: Buf): this {
    return this.bytes(field, m.done());
  }
  float(field: number, v: number): this {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.tag(field, 5);
    this.small.push(...b);
    return this;
  }
  packedInts(field: number, vs: number[]): this {
    const inner = new Buf();
    for (const v of vs) inner.varint(v);
    return this.msg(field, inner);
  }
  done(): Uint8Array {
    this.flush();
    const out = new Uint8Array(this.chunks.reduce((a, c) => a + c.length, 0));
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }
}

export const FLOAT = 1;
export const INT64 = 7;
export const INT32 = 6;
export const BOOL = 9;

export type Attr = number | number[] | string | { f: number } | { floats: number[] } | { t: TensorSpec };

export interface TensorSpec {
  name?: string;
  dims: number[];
  type?: number;
  data: ArrayLike<number>;
  /** How float data is stored: raw_data (default), float_data, or in an external file. */
  storage?: 'raw' | 'typed' | { location: string; offset: number };
}

function float32Bytes(data: ArrayLike<number>): Uint8Array {
  const f = Float32Array.from(data);
  return new Uint8Array(f.buffer);
}

function int64Bytes(data: ArrayLike<number>): Uint8Array {
  const b = new Uint8Array(data.length * 8);
  const dv = new DataView(b.buffer);
  for (let i = 0; i < data.length; i++) dv.setBigInt64(i * 8, BigInt(data[i]), true);
  return b;
}

export function encodeTensor(t: TensorSpec): Uint8Array {
  const m = new Buf();
  if (t.dims.length) m.packedInts(1, t.dims);
  const type = t.type ?? FLOAT;
  m.int(2, type);
  if (t.name) m.str(8, t.name);
  const storage = t.storage ?? 'raw';
  if (storage === 'typed') {
    if (type === FLOAT)
      m.bytes(4, float32Bytes(t.data)); // packed float_data
    else m.packedInts(7, Array.from(t.data));
  } else if (storage === 'raw') {
    m.bytes(9, type === FLOAT ? float32Bytes(t.data) : int64Bytes(t.data));
  } else {
    const kv = (k: string, v: string) => new Buf().str(1, k).str(2, v);
    m.msg(13, kv('location', storage.location));
    m.msg(13, kv('offset', String(storage.offset)));
    m.msg(13, kv('length', String(t.data.length * 4)));
    m.int(14, 1);
  }
  return m.done();
}

function encodeAttr(name: string, a: Attr): Buf {
  const m = new Buf().str(1, name);
  if (typeof a === 'number') return m.int(20, 2).int(3, a);
  if (typeof a === 'string') return m.int(20, 3).str(4, a);
  if (Array.isArray(a)) {
    m.int(20, 7);
    for (const v of a) m.int(8, v);
    return m;
  }
  if ('f' in a) return m.int(20, 1).float(2, a.f);
  if ('floats' in a) {
    m.int(20, 6);
    for (const v of a.floats) m.float(7, v);
    return m;
  }
  return m.int(20, 4).bytes(5, encodeTensor(a.t));
}

function valueInfo(name: string, dims?: (number | string)[], type = FLOAT): Buf {
  const tt = new Buf().int(1, type);
  if (dims) {
    const shape = new Buf();
    for (const d of dims) shape.msg(1, typeof d === 'number' ? new Buf().int(1, d) : new Buf().str(2, d));
    tt.msg(2, shape);
  }
  return new Buf().str(1, name).msg(2, new Buf().msg(1, tt));
}

export class OnnxBuilder {
  private nodes: Buf[] = [];
  private inits: Uint8Array[] = [];
  private inputs: Buf[] = [];
  private outputs: Buf[] = [];
  private count = 0;
  /** Names of every node output, in order (to expose them all as graph outputs). */
  readonly tensors: string[] = [];
  /** Bytes of external data written by initializers stored externally. */
  external = new Uint8Array(0);

  constructor(
    readonly opset = 13,
    readonly graphName = 'test',
  ) {}

  /** A graph input; `dims` undefined: any shape. */
  input(name: string, dims: (number | string)[] | undefined, type = FLOAT): this {
    this.inputs.push(valueInfo(name, dims, type));
    return this;
  }

  output(name: string, type = FLOAT): this {
    this.outputs.push(valueInfo(name, undefined, type));
    return this;
  }

  init(name: string, dims: number[], data: ArrayLike<number>, opts: { type?: number; storage?: 'raw' | 'typed' | 'external' } = {}): string {
    let storage: TensorSpec['storage'] = opts.storage === 'external' ? undefined : opts.storage;
    if (opts.storage === 'external') {
      const bytes = float32Bytes(data);
      storage = { location: 'weights.bin', offset: this.external.length };
      const next = new Uint8Array(this.external.length + bytes.length);
      next.set(this.external);
      next.set(bytes, this.external.length);
      this.external = next;
    }
    this.inits.push(encodeTensor({ name, dims, data, type: opts.type, storage }));
    return name;
  }

  /** Adds a node; returns its (first) output name. */
  node(op: string, inputs: string[], attrs: Record<string, Attr> = {}, outputs?: string[], name?: string): string {
    const outs = outputs ?? [`${op.toLowerCase()}_${this.count}`];
    const m = new Buf();
    for (const i of inputs) m.str(1, i);
    for (const o of outs) m.str(2, o);
    m.str(3, name ?? `${op}_${this.count}`);
    m.str(4, op);
    for (const [k, v] of Object.entries(attrs)) m.msg(5, encodeAttr(k, v));
    this.nodes.push(m);
    this.tensors.push(...outs.filter(Boolean));
    this.count++;
    return outs[0];
  }

  bytes(): Uint8Array {
    const g = new Buf();
    for (const n of this.nodes) g.msg(1, n);
    g.str(2, this.graphName);
    for (const i of this.inits) g.bytes(5, i);
    for (const i of this.inputs) g.msg(11, i);
    for (const o of this.outputs) g.msg(12, o);
    const opset = new Buf().str(1, '').int(2, this.opset);
    return new Buf().int(1, 8).str(2, 'deepvis-tests').msg(7, g).msg(8, opset).done();
  }
}
