import { bfloat16ToFloat as bfloat, halfToFloat as half } from '../../io/float16.ts';
import { closeSync, openSync, readSync, fstatSync } from 'node:fs';
import { isAbsolute, normalize, resolve, sep } from 'node:path';
import { UserError } from '../../core/errors.ts';
import { DataType, type TensorProto } from './proto.ts';

/** A decoded ONNX tensor: float types as Float32Array, integer and bool types as Float64Array. */
export interface Tensor {
  name: string;
  dims: number[];
  dataType: number;
  data: Float32Array | Float64Array;
}

export const FLOAT_TYPES: ReadonlySet<number> = new Set([DataType.FLOAT, DataType.DOUBLE, DataType.FLOAT16, DataType.BFLOAT16]);

const TYPE_NAMES: Record<number, string> = Object.fromEntries(Object.entries(DataType).map(([k, v]) => [v, k]));
export const typeName = (t: number): string => TYPE_NAMES[t] ?? `type ${t}`;

export const numel = (dims: number[]): number => dims.reduce((a, b) => a * b, 1);

/** Reads the bytes of externally stored data (path relative to the model's folder, not outside it). */
function readExternal(t: TensorProto, baseDir: string | undefined, ctx: string): Uint8Array {
  const ext = t.external ?? {};
  const loc = ext.location;
  if (!loc) throw new UserError(`${ctx}: tensor "${t.name}" is stored externally but names no location`);
  if (!baseDir) throw new UserError(`${ctx}: tensor "${t.name}" is stored in external file "${loc}", but the model was not loaded from a file`);
  const path = resolve(baseDir, loc);
  if (isAbsolute(loc) || !normalize(path).startsWith(normalize(baseDir) + sep)) {
    throw new UserError(`${ctx}: tensor "${t.name}": external data location "${loc}" must be a relative path inside the model's folder`);
  }
  const offset = ext.offset ? Number(ext.offset) : 0;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new UserError(`${ctx}: tensor "${t.name}": cannot open external data file ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  try {
    const size = fstatSync(fd).size;
    const length = ext.length ? Number(ext.length) : size - offset;
    if (!Number.isFinite(offset) || !Number.isFinite(length) || offset < 0 || length < 0 || offset + length > size) {
      throw new UserError(`${ctx}: tensor "${t.name}": external data range ${offset}+${length} does not fit ${path} (${size} bytes)`);
    }
    const out = new Uint8Array(length);
    let got = 0;
    while (got < length) {
      const n = readSync(fd, out, got, length - got, offset + got);
      if (n === 0) break;
      got += n;
    }
    return out;
  } finally {
    closeSync(fd);
  }
}

function fromRaw(raw: Uint8Array, type: number, count: number, name: string, ctx: string): Float32Array | Float64Array {
  const sizes: Record<number, number> = {
    [DataType.FLOAT]: 4,
    [DataType.DOUBLE]: 8,
    [DataType.FLOAT16]: 2,
    [DataType.BFLOAT16]: 2,
    [DataType.INT8]: 1,
    [DataType.UINT8]: 1,
    [DataType.BOOL]: 1,
    [DataType.INT16]: 2,
    [DataType.UINT16]: 2,
    [DataType.INT32]: 4,
    [DataType.UINT32]: 4,
    [DataType.INT64]: 8,
    [DataType.UINT64]: 8,
  };
  const size = sizes[type];
  if (!size) throw new UserError(`${ctx}: tensor "${name}" has unsupported data type ${typeName(type)}`);
  if (raw.length !== count * size) {
    throw new UserError(`${ctx}: tensor "${name}" has ${raw.length} bytes of data, expected ${count} × ${size}`);
  }
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (type === DataType.FLOAT) return new Float32Array(new Uint8Array(raw).buffer);
  const isFloat = FLOAT_TYPES.has(type);
  const out = isFloat ? new Float32Array(count) : new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const o = i * size;
    switch (type) {
      case DataType.DOUBLE:
        out[i] = dv.getFloat64(o, true);
        break;
      case DataType.FLOAT16:
        out[i] = half(dv.getUint16(o, true));
        break;
      case DataType.BFLOAT16:
        out[i] = bfloat(dv.getUint16(o, true));
        break;
      case DataType.INT8:
        out[i] = dv.getInt8(o);
        break;
      case DataType.UINT8:
      case DataType.BOOL:
        out[i] = dv.getUint8(o);
        break;
      case DataType.INT16:
        out[i] = dv.getInt16(o, true);
        break;
      case DataType.UINT16:
        out[i] = dv.getUint16(o, true);
        break;
      case DataType.INT32:
        out[i] = dv.getInt32(o, true);
        break;
      case DataType.UINT32:
        out[i] = dv.getUint32(o, true);
        break;
      case DataType.INT64:
        out[i] = Number(dv.getBigInt64(o, true));
        break;
      case DataType.UINT64:
        out[i] = Number(dv.getBigUint64(o, true));
        break;
    }
  }
  return out;
}

/**
 * Decodes a TensorProto's values (raw_data, the typed repeated fields, or external data).
 * `ctx` names the file in errors; `baseDir` is the folder external data paths are relative to.
 */
export function decodeTensor(t: TensorProto, ctx: string, baseDir?: string): Tensor {
  const count = numel(t.dims);
  const name = t.name;
  const type = t.dataType;
  if (type === DataType.STRING) throw new UserError(`${ctx}: tensor "${name}" holds strings, which deepvis cannot use`);
  let data: Float32Array | Float64Array;
  if (t.external) data = fromRaw(readExternal(t, baseDir, ctx), type, count, name, ctx);
  else if (t.rawData) data = fromRaw(t.rawData, type, count, name, ctx);
  else {
    let vals: ArrayLike<number>;
    if (type === DataType.FLOAT) {
      const total = t.floatData.reduce((a, c) => a + c.length, 0);
      const f = new Float32Array(total);
      let o = 0;
      for (const c of t.floatData) {
        f.set(c, o);
        o += c.length;
      }
      vals = f;
    } else if (type === DataType.DOUBLE) vals = t.doubleData;
    else if (type === DataType.INT64) vals = t.int64Data;
    else if (type === DataType.UINT32 || type === DataType.UINT64) vals = t.uint64Data;
    else if (type === DataType.FLOAT16) vals = t.int32Data.map(half);
    else if (type === DataType.BFLOAT16) vals = t.int32Data.map(bfloat);
    else if (
      type === DataType.UINT8 ||
      type === DataType.INT8 ||
      type === DataType.INT16 ||
      type === DataType.UINT16 ||
      type === DataType.INT32 ||
      type === DataType.BOOL
    )
      vals = t.int32Data;
    else throw new UserError(`${ctx}: tensor "${name}" has unsupported data type ${typeName(type)}`);
    if (vals.length !== count) {
      throw new UserError(`${ctx}: tensor "${name}" of shape [${t.dims.join(',')}] has ${vals.length} values, expected ${count}`);
    }
    data = FLOAT_TYPES.has(type) ? Float32Array.from(vals) : Float64Array.from(vals);
  }
  return { name, dims: t.dims.slice(), dataType: type, data };
}
