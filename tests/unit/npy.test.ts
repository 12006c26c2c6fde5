import { describe, expect, it } from 'vitest';
import { mkdtemp, readFile, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeNpy, parseNpy, readNpy, writeNpy } from '../../pipeline/io/npy.ts';

// Files written by NumPy 2.4 (np.save / numpy.lib.format.write_array), base64.
const NUMPY = {
  f4: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDMpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPgAAAD8AAEA/AACAPwAAoD8=',
  f8: 'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY4JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAAD4PwAAAAAAAALAAAAAAAAACED8qfHSTWJQPw==',
  v2: 'k05VTVBZAgB0AAAAeydkZXNjcic6ICc8ZjQnLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoNCwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAACAPwAAAEAAAEBA',
  fortran:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMyksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAABAQAAAgD8AAIBAAAAAQAAAoEA=',
  bigEndian:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAP4AAAEAAAAA=',
  int32:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAAQAAAAIAAAA=',
  scalar:
    'k05VTVBZAQB2AHsnZGVzY3InOiAnPGY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAOBA',
};
const bytes = (k: keyof typeof NUMPY) => new Uint8Array(Buffer.from(NUMPY[k], 'base64'));

describe('.npy reading', () => {
  it('reads float32 C order (v1 header)', () => {
    const a = parseNpy(bytes('f4'));
    expect(a.shape).toEqual([2, 3]);
    expect(a.data).toBeInstanceOf(Float32Array);
    expect([...a.data]).toEqual([0, 0.25, 0.5, 0.75, 1, 1.25]);
  });
  it('reads float64', () => {
    const a = parseNpy(bytes('f8'));
    expect(a.shape).toEqual([2, 2]);
    expect(a.data).toBeInstanceOf(Float64Array);
    expect([...a.data]).toEqual([1.5, -2.25, 3, 1e-3]);
  });
  it('reads a version 2 header', () => {
    const a = parseNpy(bytes('v2'));
    expect(a.shape).toEqual([4]);
    expect([...a.data]).toEqual([0, 1, 2, 3]);
  });
  it('reads a 0-d array', () => {
    const a = parseNpy(bytes('scalar'));
    expect(a.shape).toEqual([]);
    expect([...a.data]).toEqual([7]);
  });
  it('refuses Fortran order, big-endian, integers, garbage and truncation with a message naming the file', () => {
    expect(() => parseNpy(bytes('fortran'), 'x.npy')).toThrow(/x\.npy: Fortran-order/);
    expect(() => parseNpy(bytes('bigEndian'), 'x.npy')).toThrow(/x\.npy: unsupported dtype ">f4"/);
    expect(() => parseNpy(bytes('int32'), 'x.npy')).toThrow(/unsupported dtype "<i4"/);
    expect(() => parseNpy(new TextEncoder().encode('hello world, not numpy'), 'x.npy')).toThrow(/x\.npy: not a readable \.npy/);
    const f4 = bytes('f4');
    expect(() => parseNpy(f4.subarray(0, f4.length - 3), 'x.npy')).toThrow(/truncated data/);
    expect(() => parseNpy(f4.subarray(0, 40), 'x.npy')).toThrow(/truncated header/);
  });
  it('names a missing file', async () => {
    await expect(readNpy('/nonexistent/a.npy')).rejects.toThrow(/\/nonexistent\/a\.npy: cannot read \.npy file \(no such file\)/);
  });
});

describe('.npy writing', () => {
  it('writes exactly what NumPy writes for float32 C order', () => {
    const out = encodeNpy(new Float32Array([0, 0.25, 0.5, 0.75, 1, 1.25]), [2, 3]);
    expect(Buffer.from(out).toString('base64')).toBe(NUMPY.f4);
    expect(
      Buffer.from(encodeNpy([0, 1, 2, 3], [4]))
        .subarray(0, 128)
        .toString('latin1'),
    ).toContain("'shape': (4,)");
  });
  it('round-trips through a file, atomically (no temp files left)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'npy-'));
    const data = Float32Array.from({ length: 2 * 3 * 4 * 5 }, (_, i) => Math.sin(i) * 100);
    await writeNpy(join(dir, 'a.npy'), data, [2, 3, 4, 5]);
    expect(await readdir(dir)).toEqual(['a.npy']);
    const back = await readNpy(join(dir, 'a.npy'));
    expect(back.shape).toEqual([2, 3, 4, 5]);
    expect([...back.data]).toEqual([...data]);
    // Header + data start on a 64-byte boundary, as NumPy requires.
    const raw = await readFile(join(dir, 'a.npy'));
    expect((raw.length - data.byteLength) % 64).toBe(0);
    await writeFile(join(dir, 'b.npy'), raw.subarray(0, 20));
    await expect(readNpy(join(dir, 'b.npy'))).rejects.toThrow(/b\.npy: not a readable \.npy file/);
  });
  it('refuses a shape that does not match the data', () => {
    expect(() => encodeNpy([1, 2, 3], [2, 2])).toThrow(/holds 4 values, got 3/);
  });
});
