import { readFile } from 'node:fs/promises';
import { UserError } from '../../core/errors.ts';
import type { ParamBlob } from '../../graph/types.ts';
import { BYTES, VARINT, type WireReader } from '../../io/protobuf-wire.ts';
import { FloatSink, caffeReader, readDoubles, readFloats } from './protobuf.ts';

/**
 * Binary .caffemodel reader with a minimal schema of our own (field numbers from caffe.proto):
 *
 *   NetParameter      layer = 100 (LayerParameter), layers = 2 (V1LayerParameter)
 *   LayerParameter    name = 1, type = 2 (string), blobs = 7
 *   V1LayerParameter  name = 4, type = 5 (enum), blobs = 6, layer = 1 (V0LayerParameter: name = 1, blobs = 50)
 *   BlobProto         shape = 7 (BlobShape: dim = 1, int64, packed or not), data = 5 (float),
 *                     double_data = 8, legacy num = 1, channels = 2, height = 3, width = 4
 *
 * Everything else (diffs, solver state, layer settings) is skipped without being decoded.
 */

export interface CaffeBlob extends ParamBlob {
  /** The file gave the legacy num/channels/height/width instead of a `shape`. */
  legacy: boolean;
}

export interface CaffeWeights {
  /** Parameter blobs by layer name (a later layer of the same name replaces an earlier one, as Caffe copies them in turn). */
  layers: Map<string, CaffeBlob[]>;
  /** Layer type by name (V2 strings; V1 enum numbers as `V1:<n>`), for messages. */
  types: Map<string, string>;
}

export async function readCaffemodelFile(path: string): Promise<CaffeWeights> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch (e) {
    throw new UserError(`cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  return readCaffemodel(new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), path);
}

export function readCaffemodel(buf: Uint8Array, file: string): CaffeWeights {
  const r = caffeReader(buf, file);
  const layers = new Map<string, CaffeBlob[]>();
  const types = new Map<string, string>();
  let count = 0;
  while (!r.done) {
    const [field, wire] = r.tag();
    if ((field === 100 || field === 2) && wire === BYTES) {
      const at = r.pos;
      const l = readLayer(r.sub(), field === 100 ? V2_LAYER : V1_LAYER);
      if (!l.name) r.fail(`a layer without a name`, at);
      count++;
      layers.set(l.name, l.blobs);
      types.set(l.name, l.type);
    } else r.skip(wire);
  }
  if (count === 0) throw new UserError(`${file}: not a .caffemodel (no layers found)`);
  return { layers, types };
}

interface RawLayer {
  name: string;
  type: string;
  blobs: CaffeBlob[];
}

/** Where each format keeps a layer's name, type and blobs (caffe.proto field numbers). */
interface LayerFields {
  name: number;
  /** The type as a string (V0, V2) or as V1's enum (varint, recorded as `V1:<n>`). */
  type: { field: number; wire: number };
  blobs: number;
  /** V1 only: the V0 layer it may wrap. */
  v0?: number;
}

const V2_LAYER: LayerFields = { name: 1, type: { field: 2, wire: BYTES }, blobs: 7 };
const V1_LAYER: LayerFields = { name: 4, type: { field: 5, wire: VARINT }, blobs: 6, v0: 1 };
const V0_LAYER: LayerFields = { name: 1, type: { field: 2, wire: BYTES }, blobs: 50 };

function readLayer(r: WireReader, f: LayerFields): RawLayer {
  const out: RawLayer = { name: '', type: '', blobs: [] };
  const starts: number[] = [];
  let v0: RawLayer | undefined;
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field === f.name && wire === BYTES) out.name = r.string();
    else if (field === f.type.field && wire === f.type.wire) out.type = wire === VARINT ? `V1:${r.int64()}` : r.string();
    else if (field === f.blobs && wire === BYTES) {
      starts.push(r.pos);
      out.blobs.push(readBlob(r.sub()));
    } else if (field === f.v0 && wire === BYTES) v0 = readLayer(r.sub(), V0_LAYER);
    else r.skip(wire);
  }
  checkCounts(r, out, starts);
  if (v0 && !out.name) return v0;
  return out;
}

/** Caffe's Blob::FromProto check: the number of values must equal the shape's element count. */
function checkCounts(r: WireReader, l: RawLayer, starts: number[]): void {
  l.blobs.forEach((b, j) => {
    const want = b.shape.reduce((a, d) => a * d, 1);
    if (b.data.length !== want)
      r.fail(`layer "${l.name}" blob ${j}: shape ${b.shape.join('×') || '(scalar)'} needs ${want} values, the file has ${b.data.length}`, starts[j]);
  });
}

function readBlob(r: WireReader): CaffeBlob {
  const legacy = [0, 0, 0, 0];
  let hasLegacy = false;
  let dims: number[] | undefined;
  const data = new FloatSink();
  const doubles = new FloatSink();
  while (!r.done) {
    const [field, wire] = r.tag();
    if (field >= 1 && field <= 4 && wire === VARINT) {
      legacy[field - 1] = r.int64();
      hasLegacy = true;
    } else if (field === 7 && wire === BYTES) {
      const s = r.sub();
      dims ??= [];
      while (!s.done) {
        const [f, w] = s.tag();
        if (f === 1) s.ints(w, dims);
        else s.skip(w);
      }
    } else if (field === 5) readFloats(r, wire, data);
    else if (field === 8) readDoubles(r, wire, doubles);
    else r.skip(wire);
  }
  // As Caffe's Blob::FromProto: the legacy 4-D fields, when present, win over `shape`.
  const shape = hasLegacy ? legacy : (dims ?? []);
  return { shape, legacy: hasLegacy, data: doubles.length > 0 ? doubles.result() : data.result() };
}

/** Caffe's V1LayerParameter.LayerType numbers, for messages about V1 files. */
export const V1_LAYER_TYPES: Record<string, number> = {
  NONE: 0,
  ABSVAL: 35,
  ACCURACY: 1,
  ARGMAX: 30,
  BNLL: 2,
  CONCAT: 3,
  CONTRASTIVE_LOSS: 37,
  CONVOLUTION: 4,
  DATA: 5,
  DECONVOLUTION: 39,
  DROPOUT: 6,
  DUMMY_DATA: 32,
  EUCLIDEAN_LOSS: 7,
  ELTWISE: 25,
  EXP: 38,
  FLATTEN: 8,
  HDF5_DATA: 9,
  HDF5_OUTPUT: 10,
  HINGE_LOSS: 28,
  IM2COL: 11,
  IMAGE_DATA: 12,
  INFOGAIN_LOSS: 13,
  INNER_PRODUCT: 14,
  LRN: 15,
  MEMORY_DATA: 29,
  MULTINOMIAL_LOGISTIC_LOSS: 16,
  MVN: 34,
  POOLING: 17,
  POWER: 26,
  RELU: 18,
  SIGMOID: 19,
  SIGMOID_CROSS_ENTROPY_LOSS: 27,
  SILENCE: 36,
  SOFTMAX: 20,
  SOFTMAX_LOSS: 21,
  SPLIT: 22,
  SLICE: 33,
  TANH: 23,
  WINDOW_DATA: 24,
  THRESHOLD: 31,
};
