/**
 * The ArrayBuffers in a task result that can be moved (not copied) to the other thread: those
 * owned whole by one typed array. Views into a larger buffer (e.g. the wasm heap) are copied, so
 * the worker's backend memory is never detached.
 */
export function transferables(value: unknown, out: ArrayBuffer[] = [], seen = new Set<unknown>(), depth = 0): ArrayBuffer[] {
  if (value === null || typeof value !== 'object' || seen.has(value) || depth > 8) return out;
  seen.add(value);
  if (ArrayBuffer.isView(value)) {
    const buf = value.buffer;
    if (buf instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === buf.byteLength && !out.includes(buf)) out.push(buf);
    return out;
  }
  if (value instanceof ArrayBuffer) return out;
  const items = Array.isArray(value) ? value : value instanceof Map ? [...value.values()] : Object.values(value);
  for (const v of items) transferables(v, out, seen, depth + 1);
  return out;
}
