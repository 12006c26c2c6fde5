import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../../io/atomic.ts';
import { createTopK, type TopKState } from './topk.ts';
import { createCorr, type CorrState } from './classes.ts';
import { createStats, type UnitStatsState } from './stats.ts';

/**
 * The resumable state of a scan, written atomically after every chunk:
 * which images are done, the running top-k of every tracked blob, the class-correlation sums and
 * the skipped images. One binary file: `DVSCAN1\n`, a uint32 header length, a JSON header, then
 * the typed arrays (8-byte aligned) the header lists.
 */
export interface SkippedImage {
  file: string;
  reason: string;
}

export interface ScanState {
  /** Identifies the scan (model, layers, images, k): a checkpoint with another key is not resumed. */
  key: string;
  /** Images [0, done) have been processed. */
  done: number;
  total: number;
  topk: TopKState[];
  /** Per tracked blob (same order as topk): activation statistics (./stats.ts). */
  stats: UnitStatsState[];
  corr: CorrState | null;
  skipped: SkippedImage[];
  /** True once every image has been scanned (the render stage may still be running). */
  complete: boolean;
}

const MAGIC = 'DVSCAN2\n';

type Typed = Float64Array | Int32Array;
interface ArraySpec {
  name: string;
  type: 'f64' | 'i32';
  length: number;
  offset: number;
}

export function encodeState(s: ScanState): Buffer {
  const arrays: [string, Typed][] = [];
  for (const [i, t] of s.topk.entries()) {
    arrays.push([`topk${i}.values`, t.values], [`topk${i}.images`, t.images], [`topk${i}.positions`, t.positions], [`topk${i}.count`, t.count]);
  }
  for (const [i, t] of s.stats.entries()) {
    arrays.push([`stats${i}.sum`, t.sum], [`stats${i}.sum2`, t.sum2], [`stats${i}.dead`, t.dead], [`stats${i}.hist`, t.hist]);
  }
  if (s.corr) {
    const c = s.corr;
    arrays.push(['corr.sumA', c.sumA], ['corr.sumA2', c.sumA2], ['corr.sumP', c.sumP], ['corr.sumP2', c.sumP2], ['corr.sumAP', c.sumAP]);
  }
  const specs: ArraySpec[] = [];
  let offset = 0;
  for (const [name, a] of arrays) {
    specs.push({ name, type: a instanceof Float64Array ? 'f64' : 'i32', length: a.length, offset });
    offset += Math.ceil(a.byteLength / 8) * 8;
  }
  const header = {
    key: s.key,
    done: s.done,
    total: s.total,
    complete: s.complete,
    skipped: s.skipped,
    topk: s.topk.map((t) => ({ blob: t.blob, units: t.units, k: t.k })),
    corr: s.corr ? { units: s.corr.units, classes: s.corr.classes, n: s.corr.n } : null,
    arrays: specs,
  };
  let headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - ((MAGIC.length + 4 + headerBytes.length) % 8)) % 8;
  headerBytes = Buffer.concat([headerBytes, Buffer.alloc(pad, 0x20)]);
  const start = MAGIC.length + 4 + headerBytes.length;
  const out = Buffer.alloc(start + offset);
  out.write(MAGIC, 0, 'latin1');
  out.writeUInt32LE(headerBytes.length, MAGIC.length);
  headerBytes.copy(out, MAGIC.length + 4);
  for (const [i, [, a]] of arrays.entries()) {
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).copy(out, start + specs[i].offset);
  }
  return out;
}

export function decodeState(buf: Buffer, where: string): ScanState {
  if (buf.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) throw new Error(`${where}: not a scan checkpoint`);
  const hlen = buf.readUInt32LE(MAGIC.length);
  const header = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + hlen).toString('utf8'));
  const start = MAGIC.length + 4 + hlen;
  const arrays = new Map<string, Typed>();
  for (const spec of header.arrays as ArraySpec[]) {
    const bytes = (spec.length * 8) / (spec.type === 'f64' ? 1 : 2);
    if (start + spec.offset + bytes > buf.length) throw new Error(`${where}: truncated checkpoint`);
    const copy = new Uint8Array(bytes);
    copy.set(buf.subarray(start + spec.offset, start + spec.offset + bytes));
    arrays.set(spec.name, spec.type === 'f64' ? new Float64Array(copy.buffer) : new Int32Array(copy.buffer));
  }
  const get = <T extends Typed>(name: string): T => {
    const a = arrays.get(name);
    if (!a) throw new Error(`${where}: checkpoint lacks ${name}`);
    return a as T;
  };
  const topk = (header.topk as { blob: string; units: number; k: number }[]).map((t, i) => {
    const s = createTopK(t.blob, t.units, t.k);
    s.values.set(get<Float64Array>(`topk${i}.values`));
    s.images.set(get<Int32Array>(`topk${i}.images`));
    s.positions.set(get<Int32Array>(`topk${i}.positions`));
    s.count.set(get<Int32Array>(`topk${i}.count`));
    return s;
  });
  const stats = topk.map((t, i) => {
    const st = createStats(t.units);
    st.sum.set(get<Float64Array>(`stats${i}.sum`));
    st.sum2.set(get<Float64Array>(`stats${i}.sum2`));
    st.dead.set(get<Int32Array>(`stats${i}.dead`));
    st.hist.set(get<Int32Array>(`stats${i}.hist`));
    return st;
  });
  let corr: CorrState | null = null;
  if (header.corr) {
    corr = createCorr(header.corr.units, header.corr.classes);
    corr.n = header.corr.n;
    corr.sumA.set(get<Float64Array>('corr.sumA'));
    corr.sumA2.set(get<Float64Array>('corr.sumA2'));
    corr.sumP.set(get<Float64Array>('corr.sumP'));
    corr.sumP2.set(get<Float64Array>('corr.sumP2'));
    corr.sumAP.set(get<Float64Array>('corr.sumAP'));
  }
  return { key: header.key, done: header.done, total: header.total, complete: header.complete, skipped: header.skipped, topk, stats, corr };
}

export async function saveState(path: string, s: ScanState): Promise<void> {
  await writeFileAtomic(path, encodeState(s));
}

/** The saved state when it exists and belongs to the same scan (`key`), else undefined. */
export async function loadState(path: string, key: string): Promise<ScanState | undefined> {
  if (!existsSync(path)) return undefined;
  let s: ScanState;
  try {
    s = decodeState(await readFile(path), path);
  } catch {
    return undefined; // unreadable: start over (atomic writes make this unexpected)
  }
  return s.key === key ? s : undefined;
}
