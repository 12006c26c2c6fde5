/** A tiny protobuf wire-format encoder for crafting .caffemodel files in tests. */
export class PbWriter {
  private bytes: number[] = [];

  private raw(v: number): void {
    // unsigned varint (values < 2^53)
    while (v >= 0x80) {
      this.bytes.push((v % 128) | 0x80);
      v = Math.floor(v / 128);
    }
    this.bytes.push(v);
  }

  private tag(field: number, wire: number): void {
    this.raw(field * 8 + wire);
  }

  varint(field: number, v: number): this {
    this.tag(field, 0);
    this.raw(v);
    return this;
  }

  bytesField(field: number, data: Uint8Array | PbWriter): this {
    const b = data instanceof PbWriter ? data.finish() : data;
    this.tag(field, 2);
    this.raw(b.length);
    for (const x of b) this.bytes.push(x);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytesField(field, new TextEncoder().encode(s));
  }

  packedFloats(field: number, xs: ArrayLike<number>): this {
    return this.bytesField(field, new Uint8Array(Float32Array.from(xs).buffer));
  }

  floats(field: number, xs: ArrayLike<number>): this {
    for (const x of Array.from(xs)) {
      this.tag(field, 5);
      for (const b of new Uint8Array(Float32Array.of(x).buffer)) this.bytes.push(b);
    }
    return this;
  }

  packedDoubles(field: number, xs: ArrayLike<number>): this {
    return this.bytesField(field, new Uint8Array(Float64Array.from(xs).buffer));
  }

  doubles(field: number, xs: ArrayLike<number>): this {
    for (const x of Array.from(xs)) {
      this.tag(field, 1);
      for (const b of new Uint8Array(Float64Array.of(x).buffer)) this.bytes.push(b);
    }
    return this;
  }

  packedVarints(field: number, xs: number[]): this {
    const w = new PbWriter();
    for (const x of xs) w.raw(x);
    return this.bytesField(field, w);
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

/** BlobProto with `shape` (packed dims) and packed float data. */
export function blob(shape: number[], data: ArrayLike<number>, opts: { packed?: boolean; double?: boolean; legacy?: boolean } = {}): PbWriter {
  const w = new PbWriter();
  if (opts.legacy) {
    const d = [...Array(4 - shape.length).fill(1), ...shape];
    d.forEach((v, i) => w.varint(i + 1, v));
  } else w.bytesField(7, new PbWriter().packedVarints(1, shape));
  const packed = opts.packed ?? true;
  if (opts.double) packed ? w.packedDoubles(8, data) : w.doubles(8, data);
  else packed ? w.packedFloats(5, data) : w.floats(5, data);
  return w;
}

/** A V2 LayerParameter (field 100 of NetParameter). */
export function layerV2(name: string, type: string, blobs: PbWriter[]): PbWriter {
  const w = new PbWriter().string(1, name).string(2, type);
  for (const b of blobs) w.bytesField(7, b);
  return w;
}

/** A V1LayerParameter (field 2 of NetParameter). */
export function layerV1(name: string, type: number, blobs: PbWriter[]): PbWriter {
  const w = new PbWriter().string(4, name).varint(5, type);
  for (const b of blobs) w.bytesField(6, b);
  return w;
}

export function netParameter(layers: { v1?: boolean; msg: PbWriter }[], name = 'test'): Uint8Array {
  const w = new PbWriter().string(1, name);
  for (const l of layers) w.bytesField(l.v1 ? 2 : 100, l.msg);
  return w.finish();
}
