/** 16-bit float formats stored in model files, decoded to JS numbers. */

/** IEEE 754 half precision (float16) bits → number. */
export function halfToFloat(bits: number): number {
  const s = bits & 0x8000 ? -1 : 1;
  const e = (bits >> 10) & 0x1f;
  const m = bits & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/** bfloat16 bits (the top half of a float32) → number. */
export function bfloat16ToFloat(bits: number): number {
  const b = new DataView(new ArrayBuffer(4));
  b.setUint32(0, (bits & 0xffff) << 16);
  return b.getFloat32(0);
}
