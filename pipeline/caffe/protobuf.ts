import { UserError } from '../errors.ts';

/**
 * A minimal protobuf wire-format reader: just enough to walk a .caffemodel without a generated
 * schema. Offsets in error messages are absolute byte positions in the file.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_FIXED32 = 5;

export class ProtoReader {
  pos: number;
  private readonly dv: DataView;
  constructor(
    readonly buf: Uint8Array,
    /** Names the file in error messages. */
    readonly file: string,
    start = 0,
    readonly end = buf.length,
    dv?: DataView,
  ) {
    this.pos = start;
    this.dv = dv ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  truncated(at = this.pos): never {
    throw new UserError(`${this.file}: truncated or corrupt .caffemodel at byte ${at} (file has ${this.buf.length} bytes)`);
  }

  corrupt(msg: string, at = this.pos): never {
    throw new UserError(`${this.file}: corrupt .caffemodel at byte ${at}: ${msg}`);
  }

  /** Unsigned varint as a JS number (exact up to 2^53; larger values lose precision). */
  varint(): number {
    const start = this.pos;
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.truncated(start);
      const b = this.buf[this.pos++];
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 128;
    }
    this.corrupt('varint longer than 10 bytes', start);
  }

  /** Reads a tag; returns [fieldNumber, wireType]. */
  tag(): [number, number] {
    const at = this.pos;
    const t = this.varint();
    const field = Math.floor(t / 8);
    const wire = t % 8;
    if (field === 0) this.corrupt('field number 0', at);
    return [field, wire];
  }

  /** Length of a length-delimited field; checks it fits. Returns the start offset. */
  bytesStart(): [number, number] {
    const at = this.pos;
    const len = this.varint();
    const start = this.pos;
    if (start + len > this.end) this.truncated(at);
    this.pos = start + len;
    return [start, start + len];
  }

  /** A sub-reader over a length-delimited field (no copy). */
  sub(): ProtoReader {
    const [s, e] = this.bytesStart();
    return new ProtoReader(this.buf, this.file, s, e, this.dv);
  }

  string(): string {
    const [s, e] = this.bytesStart();
    return new TextDecoder().decode(this.buf.subarray(s, e));
  }

  float32(): number {
    if (this.pos + 4 > this.end) this.truncated();
    const v = this.dv.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(): number {
    if (this.pos + 8 > this.end) this.truncated();
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Skips a field of the given wire type without materialising it. */
  skip(wire: number): void {
    const at = this.pos;
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.truncated(at);
        this.pos += 8;
        return;
      case WIRE_BYTES:
        this.bytesStart();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) this.truncated(at);
        this.pos += 4;
        return;
      default:
        this.corrupt(`unsupported wire type ${wire}`, at);
    }
  }
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
export function readFloats(r: ProtoReader, wire: number, sink: FloatSink): void {
  if (wire === WIRE_FIXED32) sink.push(r.float32());
  else if (wire === WIRE_BYTES) {
    const at = r.pos;
    const [s, e] = r.bytesStart();
    if ((e - s) % 4 !== 0) r.corrupt(`packed float field of ${e - s} bytes (not a multiple of 4)`, at);
    sink.pushFloat32Bytes(r.buf.subarray(s, e));
  } else r.corrupt(`float field with wire type ${wire}`);
}

/** Reads a repeated double field occurrence (packed or single) into the sink, as float32. */
export function readDoubles(r: ProtoReader, wire: number, sink: FloatSink): void {
  if (wire === WIRE_FIXED64) sink.push(r.float64());
  else if (wire === WIRE_BYTES) {
    const at = r.pos;
    const [s, e] = r.bytesStart();
    if ((e - s) % 8 !== 0) r.corrupt(`packed double field of ${e - s} bytes (not a multiple of 8)`, at);
    sink.pushFloat64Bytes(r.buf.subarray(s, e));
  } else r.corrupt(`double field with wire type ${wire}`);
}

/** Reads a repeated varint field occurrence (packed or single), e.g. int64 dims. */
export function readVarints(r: ProtoReader, wire: number, out: number[]): void {
  if (wire === WIRE_VARINT) out.push(r.varint());
  else if (wire === WIRE_BYTES) {
    const sub = r.sub();
    while (!sub.done) out.push(sub.varint());
  } else r.corrupt(`integer field with wire type ${wire}`);
}
