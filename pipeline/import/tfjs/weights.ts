import { halfToFloat as half } from '../../io/float16.ts';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, sep } from 'node:path';
import { UserError } from '../../core/errors.ts';

/**
 * TF.js weights: `weightsManifest` groups, each a list of shard files (concatenated in order)
 * holding its weights back to back. dtypes float32/int32/bool, and the converter's quantization
 * (uint8/uint16 affine: value = q·scale + min; float16).
 */

export interface WeightSpec {
  name: string;
  shape: number[];
  dtype?: string;
  quantization?: { dtype: string; scale?: number; min?: number };
}

export interface ManifestGroup {
  paths: string[];
  weights: WeightSpec[];
}

export interface NamedWeight {
  shape: number[];
  data: Float32Array;
}

const count = (s: number[]) => s.reduce((a, d) => a * d, 1);

export function checkManifest(m: unknown, file: string): ManifestGroup[] {
  if (!Array.isArray(m)) throw new UserError(`${file}: "weightsManifest" must be a list`);
  for (const g of m) {
    if (!g || !Array.isArray(g.paths) || !Array.isArray(g.weights)) throw new UserError(`${file}: each weightsManifest entry needs "paths" and "weights"`);
    for (const w of g.weights)
      if (typeof w?.name !== 'string' || !Array.isArray(w.shape)) throw new UserError(`${file}: weight entries need "name" and "shape"`);
  }
  return m as ManifestGroup[];
}

/** Reads and decodes every weight of the manifest (shards relative to model.json's folder). */
export async function readWeights(manifest: ManifestGroup[], modelFile: string): Promise<Map<string, NamedWeight>> {
  const dir = dirname(modelFile);
  const out = new Map<string, NamedWeight>();
  for (const g of manifest) {
    const parts: Uint8Array[] = [];
    for (const p of g.paths) {
      const path = join(dir, p);
      if (isAbsolute(p) || !normalize(path).startsWith(normalize(dir) + sep))
        throw new UserError(`${modelFile}: weight shard "${p}" must be a relative path inside the model's folder`);
      try {
        parts.push(await readFile(path));
      } catch (e) {
        throw new UserError(`${modelFile}: cannot read weight shard ${path} (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
      }
    }
    const buf = new Uint8Array(parts.reduce((a, b) => a + b.length, 0));
    let o = 0;
    for (const p of parts) {
      buf.set(p, o);
      o += p.length;
    }
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let at = 0;
    for (const w of g.weights) {
      const n = count(w.shape);
      const q = w.quantization;
      const dtype = q ? q.dtype : (w.dtype ?? 'float32');
      const size = dtype === 'uint8' || dtype === 'bool' ? 1 : dtype === 'uint16' || dtype === 'float16' ? 2 : 4;
      if (at + n * size > buf.length)
        throw new UserError(`${modelFile}: weight "${w.name}" runs past the end of its shards (${buf.length} bytes): truncated or mismatched files`);
      const data = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const p = at + i * size;
        let v: number;
        switch (dtype) {
          case 'float32':
            v = dv.getFloat32(p, true);
            break;
          case 'int32':
            v = dv.getInt32(p, true);
            break;
          case 'uint8':
          case 'bool':
            v = dv.getUint8(p);
            break;
          case 'uint16':
            v = dv.getUint16(p, true);
            break;
          case 'float16':
            v = half(dv.getUint16(p, true));
            break;
          default:
            throw new UserError(`${modelFile}: weight "${w.name}" has unsupported dtype ${dtype}`);
        }
        data[i] = q && dtype !== 'float16' ? v * (q.scale ?? 1) + (q.min ?? 0) : v;
      }
      at += n * size;
      out.set(w.name, { shape: w.shape, data });
    }
    if (at !== buf.length) throw new UserError(`${modelFile}: weight shards hold ${buf.length} bytes, the manifest describes ${at}`);
  }
  return out;
}
