import { UserError } from '../core/errors.ts';

/**
 * The one protobuf wire-format reader of the importers (.caffemodel and ONNX): varints (signed
 * int64 included), fixed-width numbers, length-delimited fields, packed repeated fields, no
 * generated schema and no copies. Every error is a UserError whose wording the caller chooses
 * (`WireError`), with the absolute byte offset in the file.
 */

export const VARINT = 0;
export const FIXED64 = 1;
export const BYTES = 2;
export const FIXED32 = 5;

/** Words an error: `msg` at absolute byte `at` of a `size`-byte file; `truncated` when the data ends early. */
export type WireError = (msg: string, at: number, size: number, truncated: boolean) => string;

export class WireReader {
  pos: number;
  private readonly dv: DataView;

  constructor(
    readonly buf: Uint8Array,
    readonly error: WireError,
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

  fail(msg: string, at = this.pos, truncated = false): never {
    throw new UserError(this.error(msg, at, this.buf.length, truncated));
  }

  private short(msg: string, at: number): never {
    this.fail(msg, at, true);
  }

  /** A varint as a signed 64-bit integer, returned as a JS number (exact within ±2^53). */
  int64(): number {
    const start = this.pos;
    let lo = 0;
    let mul = 1;
    for (let i = 0; i < 7; i++) {
      if (this.pos >= this.end) this.short('truncated varint', start);
      const b = this.buf[this.pos++];
      lo += (b & 0x7f) * mul;
      if (b < 0x80) return lo;
      mul *= 128;
    }
    // Past 49 bits (negative numbers take 10 bytes): finish exactly with BigInt.
    let big = BigInt(lo);
    let shift = 49n;
    for (let i = 7; i < 10; i++) {
      if (this.pos >= this.end) this.short('truncated varint', start);
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
    if (len < 0) this.fail(`negative field length ${len}`, at);
    if (this.pos + len > this.end) this.short(`field of ${len} bytes runs past the end`, at);
    const s = this.pos;
    this.pos += len;
    return [s, s + len];
  }

  bytes(): Uint8Array {
    const [s, e] = this.span();
    return this.buf.subarray(s, e);
  }

  /** A reader over a length-delimited field (no copy). */
  sub(): WireReader {
    const [s, e] = this.span();
    return new WireReader(this.buf, this.error, s, e, this.dv);
  }

  string(): string {
    return new TextDecoder().decode(this.bytes());
  }

  float32(): number {
    if (this.pos + 4 > this.end) this.short('truncated float', this.pos);
    const v = this.dv.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }

  float64(): number {
    if (this.pos + 8 > this.end) this.short('truncated double', this.pos);
    const v = this.dv.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }

  /** Skips a field of the given wire type without materialising it. */
  skip(wire: number): void {
    const at = this.pos;
    switch (wire) {
      case VARINT:
        this.int64();
        return;
      case FIXED64:
        if (this.pos + 8 > this.end) this.short('truncated', at);
        this.pos += 8;
        return;
      case BYTES:
        this.span();
        return;
      case FIXED32:
        if (this.pos + 4 > this.end) this.short('truncated', at);
        this.pos += 4;
        return;
      default:
        this.fail(`unsupported wire type ${wire}`, at);
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
