import { WireReader } from '../../io/protobuf-wire.ts';

/** ONNX files through the shared protobuf reader (pipeline/io/protobuf-wire.ts), with ONNX's error wording. */
export { BYTES, FIXED32, FIXED64, VARINT } from '../../io/protobuf-wire.ts';
export type Wire = WireReader;

export function onnxReader(buf: Uint8Array, file: string): Wire {
  return new WireReader(buf, (msg, at, size) => `${file}: not a valid ONNX protobuf (byte ${at} of ${size}): ${msg}`);
}
