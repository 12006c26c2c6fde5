import { BYTES, FIXED32, FIXED64, WireReader } from '../../io/protobuf-wire.ts';

/**
 * .caffemodel files through the shared protobuf reader (pipeline/io/protobuf-wire.ts), with the
 * Caffe error wording, plus a float sink that takes packed weight arrays in one copy.
 */

export function caffeReader(buf: Uint8Array, file: string): WireReader {
  return new WireReader(buf, (msg, at, size, truncated) =>
    truncated ? `${file}: truncated or corrupt .caffemodel at byte ${at} (file has ${size} bytes)` : `${file}: corrupt .caffemodel at byte ${at}: ${msg}`,
  );
}

/** Collects floats from packed chunks and single values without per-float objects. */
export class FloatSink {
  private data = new Float32Array(0);
  private n = 0;

  get length(): number {
    return this.n;
  }

  private reserve(extra: number): void {
    if (this.n + extra <= this.data.length) return;
    const next = new Float32Array(Math.max(this.n + extra, this.data.length * 2, 16));
    next.set(this.data.subarray(0, this.n));
    this.data = next;
  }

  push(v: number): void {
    this.reserve(1);
    this.data[this.n++] = v;
  }

  /** Appends little-endian float32 bytes (one copy; aligned view when possible). */
  pushFloat32Bytes(bytes: Uint8Array): void {
    const count = bytes.length / 4;
    if (this.n === 0 && this.data.length === 0) {
      // Common case, one packed chunk: copy the bytes into a fresh aligned buffer.
      this.data = new Float32Array(Uint8Array.prototype.slice.call(bytes).buffer); // a copy even for a Buffer
      this.n = count;
      return;
    }
    this.reserve(count);
    new Uint8Array(this.data.buffer, this.n * 4, bytes.length).set(bytes);
    this.n += count;
  }

  pushFloat64Bytes(bytes: Uint8Array): void {
    const count = bytes.length / 8;
    this.reserve(count);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    for (let i = 0; i < count; i++) this.data[this.n + i] = dv.getFloat64(i * 8, true);
    this.n += count;
  }

  result(): Float32Array {
    return this.n === this.data.length ? this.data : this.data.slice(0, this.n);
  }
}

/** Reads a repeated float field occurrence (packed or single) into the sink. */
export function readFloats(r: WireReader, wire: number, sink: FloatSink): void {
  if (wire === FIXED32) sink.push(r.float32());
  else if (wire === BYTES) {
    const at = r.pos;
    const [s, e] = r.span();
    if ((e - s) % 4 !== 0) r.fail(`packed float field of ${e - s} bytes (not a multiple of 4)`, at);
    sink.pushFloat32Bytes(r.buf.subarray(s, e));
  } else r.fail(`float field with wire type ${wire}`);
}

/** Reads a repeated double field occurrence (packed or single) into the sink, as float32. */
export function readDoubles(r: WireReader, wire: number, sink: FloatSink): void {
  if (wire === FIXED64) sink.push(r.float64());
  else if (wire === BYTES) {
    const at = r.pos;
    const [s, e] = r.span();
    if ((e - s) % 8 !== 0) r.fail(`packed double field of ${e - s} bytes (not a multiple of 8)`, at);
    sink.pushFloat64Bytes(r.buf.subarray(s, e));
  } else r.fail(`double field with wire type ${wire}`);
}
