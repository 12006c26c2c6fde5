import { UserError } from '../errors.ts';

/**
 * Protobuf wire-format reader for ONNX files: varints (signed int64 included), fixed-width
 * numbers, length-delimited fields. Errors name the file and the absolute byte offset.
 */

export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

export class Wire {
  pos: number;
  private readonly dv: DataView;

  constructor(
    readonly buf: Uint8Array,
    readonly file: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get done(): boolean {
    return this.pos >= this.end;
  }

  fail(msg: string, at = this.pos): never {
    throw new UserError(`${this.file}: not a valid ONNX protobuf (byte ${at} of ${this.buf.length}): ${msg}`);
  }

  /** A varint as a signed 64-bit integer, returned as a JS number (exact within ±2^53). */
  int64(): number {
    const start = this.pos;
    let lo = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.buf[this.pos++];
      lo += (b & 0x7f) * mul;
      if (b < 0x80) return lo;
      mul *= 128;
    }
    // Past 49 bits (negative numbers take 10 bytes): finish exactly with BigInt.
    let big = BigInt(lo);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.buf[this.pos++];
      big |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return Number(BigInt.asIntN(64, big));
      shift += 7n;
    }
    this.fail('varint longer than 10 bytes', start);
  }

  /** Reads a tag: [field number, wire type]. */
  tag(): [number, number] {
    const at = this.pos;
    const t = this.int64();
    const field = Math.floor(t / 8);
    if (field <= 0) this.fail(`bad field number ${field}`, at);
    return [field, t % 8];
  }

  /** Bounds of a length-delimited field; moves past it. */
  span(): [number, number] {
    const at = this.pos;
    const len = this.int64();
    if (len < 0 || this.pos + len > this.end) this.fail(`field of ${len} bytes runs past the end`, at);
    const s = this.pos;
    this.pos += len;
    return [s, s + len];
  }

  bytes(): Uint8Array {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }

  sub(): Wire {
    const [s, e] = this.span();
    return new Wire(this.buf, this.file, s, e);
  }

  string(): string {
    return new TextDecoder().decode(this.bytes());
  }

  float32(): number {
    if (this.pos + 4 > this.end) this.fail('truncated float');
    const v = this.dv.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(): number {
    if (this.pos + 8 > this.end) this.fail('truncated double');
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  skip(wire: number): void {
    switch (wire) {
      case VARINT: this.int64(); return;
      case FIXED64: if (this.pos + 8 > this.end) this.fail('truncated'); this.pos += 8; return;
      case BYTES: this.span(); return;
      case FIXED32: if (this.pos + 4 > this.end) this.fail('truncated'); this.pos += 4; return;
      default: this.fail(`unsupported wire type ${wire}`);
    }
  }

  /** One occurrence of a repeated integer field, packed or not. */
  ints(wire: number, out: number[]): void {
    if (wire === VARINT) out.push(this.int64());
    else if (wire === BYTES) {
      const s = this.sub();
      while (!s.done) out.push(s.int64());
    } else this.fail(`integer field with wire type ${wire}`);
  }

  /** One occurrence of a repeated float field, packed or not. */
  floats(wire: number, out: number[]): void {
    if (wire === FIXED32) out.push(this.float32());
    else if (wire === BYTES) {
      const s = this.sub();
      while (!s.done) out.push(s.float32());
    } else this.fail(`float field with wire type ${wire}`);
  }

  /** One occurrence of a repeated double field, packed or not. */
  doubles(wire: number, out: number[]): void {
    if (wire === FIXED64) out.push(this.float64());
    else if (wire === BYTES) {
      const s = this.sub();
      while (!s.done) out.push(s.float64());
    } else this.fail(`double field with wire type ${wire}`);
  }
}
