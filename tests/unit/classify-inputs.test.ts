import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandInputs } from '../../pipeline/io/inputs.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'inputs-'));
  for (const f of ['a/1.jpg', 'a/2.PNG', 'a/notes.txt', 'a/sub/3.jpeg', 'a/sub/.hidden.jpg', 'b/x.webp', 'b/y.gif', 'c.tif', 'odd.dat']) {
    await mkdir(join(dir, f, '..'), { recursive: true });
    await writeFile(join(dir, f), 'x');
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('expanding image arguments', () => {
  it('takes folders recursively (image extensions only, sorted), files as given, in argument order', async () => {
    expect(await expandInputs(['c.tif', 'a', 'odd.dat'], dir)).toEqual(['c.tif', 'a/1.jpg', 'a/2.PNG', 'a/sub/3.jpeg', 'odd.dat']);
  });
  it('expands globs relative to the working folder and absolute ones', async () => {
    expect(await expandInputs(['b/*'], dir)).toEqual(['b/x.webp', 'b/y.gif']);
    expect(await expandInputs(['**/*.{jpg,jpeg}'], dir)).toEqual(['a/1.jpg', 'a/sub/3.jpeg']);
    expect(await expandInputs([`${dir}/b/*.gif`], '/')).toEqual([`${dir}/b/y.gif`]);
  });
  it('drops duplicates', async () => {
    expect(await expandInputs(['b/x.webp', 'b', './b/x.webp'], dir)).toEqual(['b/x.webp', 'b/y.gif']);
  });
  it('errors on a missing path, on nothing matched, on no arguments', async () => {
    await expect(expandInputs(['a', 'missing.jpg'], dir)).rejects.toThrow(/missing\.jpg: no such image file or folder/);
    await expect(expandInputs(['*.png'], dir)).rejects.toThrow(/no images matched "\*\.png"/);
    await mkdir(join(dir, 'empty'), { recursive: true });
    await expect(expandInputs(['empty'], dir)).rejects.toThrow(/no images matched/);
    await expect(expandInputs([], dir)).rejects.toThrow(/no images given/);
  });
});
