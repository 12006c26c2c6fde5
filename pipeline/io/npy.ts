import { readFile } from 'node:fs/promises';
import { UserError } from '../core/errors.ts';
import { writeFileAtomic } from './atomic.ts';

/**
 * NumPy `.npy` files (format versions 1–3). Reads little-endian float32 (`<f4`) and float64 (`<f8`)
 * arrays in C order; writes float32 in C order with a version 1 header.
 * https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */
export interface NpyArray {
  shape: number[];
  /** Values in C (row-major) order. */
  data: Float32Array | Float64Array;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Parses the bytes of an .npy file; `name` is used in error messages. */
export function parseNpy(bytes: Uint8Array, name = 'array'): NpyArray {
  const bad = (why: string) => new UserError(`${name}: not a readable .npy file (${why})`);
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) throw bad('missing the \\x93NUMPY magic');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let headerStart: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    headerStart = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated header');
    headerLen = view.getUint32(8, true);
    headerStart = 12;
  } else {
    throw bad(`unsupported format version ${major}.${bytes[7]}`);
  }
  const dataStart = headerStart + headerLen;
  if (dataStart > bytes.length) throw bad('truncated header');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(headerStart, dataStart));

  const descr = /['"]descr['"]\s*:\s*['"]([^'"]+)['"]/.exec(header)?.[1];
  const fortran = /['"]fortran_order['"]\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /['"]shape['"]\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(`unreadable header ${header.trim()}`);
  if (fortran === 'True') throw new UserError(`${name}: Fortran-order arrays are not supported; save it in C order (np.ascontiguousarray)`);
  const shape = shapeText
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw bad(`bad shape (${shapeText})`);
  const count = shape.reduce((a, b) => a * b, 1);

  let itemSize: number;
  if (descr === '<f4' || descr === '=f4') itemSize = 4;
  else if (descr === '<f8' || descr === '=f8') itemSize = 8;
  else throw new UserError(`${name}: unsupported dtype "${descr}" (expected little-endian float32 '<f4' or float64 '<f8')`);
  const byteLen = count * itemSize;
  if (bytes.length - dataStart < byteLen) {
    throw bad(`truncated data: ${bytes.length - dataStart} bytes for shape (${shape.join(', ')}) needing ${byteLen}`);
  }
  // Copy into an aligned buffer (the data offset need not be a multiple of the item size).
  const raw = new Uint8Array(byteLen); // a copy (Buffer#slice would be a view into a shared pool)
  raw.set(bytes.subarray(dataStart, dataStart + byteLen));
  const data = itemSize === 4 ? new Float32Array(raw.buffer, 0, count) : new Float64Array(raw.buffer, 0, count);
  return { shape, data };
}

export async function readNpy(path: string): Promise<NpyArray> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(`${path}: cannot read .npy file (${code === 'ENOENT' ? 'no such file' : (code ?? (e as Error).message)})`);
  }
  return parseNpy(bytes, path);
}

/** Encodes values as a float32 C-order .npy (version 1 header, padded to 64 bytes as NumPy does). */
export function encodeNpy(data: ArrayLike<number>, shape: number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape (${shape.join(', ')}) holds ${count} values, got ${data.length}`);
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': ${shapeText}, }`;
  const unpadded = 10 + header.length + 1; // magic+version+len, header, '\n'
  header += ' '.repeat((64 - (unpadded % 64)) % 64) + '\n';
  const out = new Uint8Array(10 + header.length + count * 4);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
  out.set(new Uint8Array(f32.buffer, f32.byteOffset, f32.byteLength), 10 + header.length);
  return out;
}

/** Writes a float32 .npy atomically. */
export async function writeNpy(path: string, data: ArrayLike<number>, shape: number[]): Promise<void> {
  await writeFileAtomic(path, encodeNpy(data, shape));
}
