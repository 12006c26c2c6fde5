import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync, crc32 } from 'node:zlib';
import sharp from 'sharp';

/**
 * Fixtures for the scan tests: a small random-weight Caffe model (prototxt only, with synset labels
 * and a deepvis.json preprocessing sidecar) and folders of generated photos, plus the bad files a
 * scan must survive.
 */
export const TINY_SYNSETS = Array.from({ length: 6 }, (_, i) => `n0000000${i + 1}`);

/** With `lrn`, a Caffe LRN across 5 channels follows pool1 (α large enough to matter at random-weight scales). */
export async function writeTinyModel(dir: string, size = 48, opts: { lrn?: boolean } = {}): Promise<string> {
  await mkdir(dir, { recursive: true });
  const norm = opts.lrn ? `layer { name: "norm1" type: "LRN" bottom: "pool1" top: "norm1" lrn_param { local_size: 5 alpha: 0.5 beta: 0.75 } }\n` : '';
  const proto = `name: "tiny"
layer { name: "data" type: "Input" top: "data" input_param { shape { dim: 1 dim: 3 dim: ${size} dim: ${size} } } }
layer { name: "conv1" type: "Convolution" bottom: "data" top: "conv1" convolution_param { num_output: 8 kernel_size: 5 stride: 2 } }
layer { name: "relu1" type: "ReLU" bottom: "conv1" top: "conv1" }
layer { name: "pool1" type: "Pooling" bottom: "conv1" top: "pool1" pooling_param { pool: MAX kernel_size: 3 stride: 2 } }
${norm}layer { name: "conv2" type: "Convolution" bottom: "${opts.lrn ? 'norm1' : 'pool1'}" top: "conv2" convolution_param { num_output: 12 kernel_size: 3 pad: 1 } }
layer { name: "relu2" type: "ReLU" bottom: "conv2" top: "conv2" }
layer { name: "fc3" type: "InnerProduct" bottom: "conv2" top: "fc3" inner_product_param { num_output: ${TINY_SYNSETS.length} } }
layer { name: "prob" type: "Softmax" bottom: "fc3" top: "prob" }
`;
  await writeFile(join(dir, 'deploy.prototxt'), proto);
  await writeFile(join(dir, 'synset_words.txt'), TINY_SYNSETS.map((s, i) => `${s} class ${i}`).join('\n') + '\n');
  await writeFile(join(dir, 'deepvis.json'), JSON.stringify({ preprocess: { resize: [size + 8, size + 8] } }));
  return dir;
}

function rng(seed: number) {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

/** `n` seeded random JPEGs named `<synset>_<i>.jpg` (synsets in turn), of varied sizes. */
export async function writePhotos(dir: string, n: number, seed = 1): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const r = rng(seed);
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const w = 40 + Math.floor(r() * 60),
      h = 40 + Math.floor(r() * 60);
    const px = Buffer.alloc(w * h * 3);
    const base = [r() * 255, r() * 255, r() * 255];
    for (let j = 0; j < px.length; j++) px[j] = Math.max(0, Math.min(255, base[j % 3] + (r() - 0.5) * 120));
    const name = `${TINY_SYNSETS[i % TINY_SYNSETS.length]}_${String(i).padStart(4, '0')}.jpg`;
    await sharp(px, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 85 })
      .toFile(join(dir, name));
    out.push(name);
  }
  return out;
}

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td) >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** A PNG written by hand (so any bit depth works): rows are filter-0 scanlines of `rowBytes`. */
export function png(width: number, height: number, bitDepth: number, colorType: number, row: (y: number) => Buffer): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const raw: Buffer[] = [];
  for (let y = 0; y < height; y++) raw.push(Buffer.from([0]), row(y));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(Buffer.concat(raw))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** The bad and odd files of the issue, by name → what a scan should do with them. */
export async function writeBadImages(dir: string): Promise<Record<string, 'skip' | 'handle' | 'either'>> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'empty.jpg'), Buffer.alloc(0));
  const good = await sharp({ create: { width: 120, height: 90, channels: 3, background: { r: 200, g: 30, b: 60 } } })
    .jpeg()
    .toBuffer();
  await writeFile(join(dir, 'truncated.jpg'), good.subarray(0, Math.floor(good.length / 2)));
  await writeFile(join(dir, 'notes.jpg'), 'this is a text file, not a JPEG\n');
  // 16-bit RGB, 16×12, a gradient.
  await writeFile(
    join(dir, 'deep16.png'),
    png(16, 12, 16, 2, (y) => {
      const b = Buffer.alloc(16 * 6);
      for (let x = 0; x < 16; x++) for (let c = 0; c < 3; c++) b.writeUInt16BE((x * 4000 + y * 1000 + c * 9000) % 65536, (x * 3 + c) * 2);
      return b;
    }),
  );
  await writeFile(
    join(dir, 'one.png'),
    png(1, 1, 8, 2, () => Buffer.from([10, 200, 30])),
  );
  // 20000×20000, 1-bit grayscale: a valid image of 400 M pixels in ~50 KB.
  const zeros = Buffer.alloc(2500);
  await writeFile(
    join(dir, 'huge.png'),
    png(20000, 20000, 1, 0, () => zeros),
  );
  return { 'empty.jpg': 'skip', 'truncated.jpg': 'either', 'notes.jpg': 'skip', 'deep16.png': 'handle', 'one.png': 'handle', 'huge.png': 'either' };
}
