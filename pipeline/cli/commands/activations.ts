import { join } from 'node:path';
import type { ParsedCommand } from '../options.ts';
import { UserError } from '../../core/errors.ts';
import type { Model } from '../../graph/types.ts';
import { decodeImage } from '../../image/decode.ts';
import { readNpy, writeNpy } from '../../io/npy.ts';
import { loadModel } from '../../import/load.ts';
import { withRandomWeights } from '../../import/random-weights.ts';
import { preprocessOption } from '../../graph/preprocess.ts';
import { initBackend, parseBackend } from '../../engine/backend.ts';

export async function run({ values }: ParsedCommand<'activations'>): Promise<void> {
  if (!values.model) throw new UserError('--model is required (see deepvis help activations)');
  const backend = parseBackend(values.backend);
  const loaded = await loadModel(values.model!, { preprocess: await preprocessOption(values.preprocess) });
  const seed = values['random-weights'];
  const model = seed === undefined ? loaded : withRandomWeights(loaded, seed);
  const blobs = selectBlobs(model, values.blobs!);
  const files = outputFiles(blobs);
  const input = await readInput(values.input!, model);

  await initBackend(backend, model);
  const tf = await import('@tensorflow/tfjs-core');
  const { createNet } = await import('../../engine/create-net.ts');
  const net = createNet(model);
  try {
    const x = tf.tensor4d(input.data, [input.n, input.h, input.w, 3]);
    const outs = net.forward(x, blobs);
    x.dispose();
    for (const name of blobs) {
      const t = outs[name];
      const data = (await t.data()) as Float32Array;
      const info = model.graph.blobs.find((b) => b.name === name)!;
      const shape = [input.n, ...info.shape];
      const nchw = toNchw(data, t.shape, shape);
      t.dispose();
      await writeNpy(join(values.out!, files.get(name)!), nchw, shape);
    }
  } finally {
    net.dispose();
  }
  if (!process.env.DEEPVIS_QUIET)
    console.error(`wrote ${blobs.length} blob${blobs.length === 1 ? '' : 's'} for ${input.n} input${input.n === 1 ? '' : 's'} to ${values.out}`);
}

/** `a,b` or `all` → blob names, validated against the graph. */
export function selectBlobs(model: Model, spec: string): string[] {
  const all = model.graph.blobs.map((b) => b.name);
  if (spec.trim() === 'all') return all;
  const names = [
    ...new Set(
      spec
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  ];
  if (!names.length) throw new UserError('--blobs is empty');
  const known = new Set(all);
  for (const n of names) {
    if (!known.has(n)) {
      const near = all.filter((b) => b.toLowerCase().includes(n.toLowerCase()) || n.toLowerCase().includes(b.toLowerCase()));
      const show = (near.length ? near : all).slice(0, 8);
      const more = (near.length ? near : all).length - show.length;
      throw new UserError(
        `unknown blob "${n}" in ${model.id} (${near.length ? 'similar' : 'blobs'}: ${show.join(', ')}${more > 0 ? `, … ${more} more` : ''}; see deepvis inspect)`,
      );
    }
  }
  return names;
}

/** Blob name → file name (`/` → `__`); two blobs landing on one file is an error. */
export function outputFiles(blobs: string[]): Map<string, string> {
  const files = new Map<string, string>();
  const owner = new Map<string, string>();
  for (const b of blobs) {
    const f = `${b.replaceAll('/', '__')}.npy`;
    if (owner.has(f)) throw new UserError(`blobs "${owner.get(f)}" and "${b}" would both be written to ${f}`);
    owner.set(f, b);
    files.set(b, f);
  }
  return files;
}

interface Input {
  /** NHWC float32, network channel order, preprocessed. */
  data: Float32Array;
  n: number;
  h: number;
  w: number;
}

async function readInput(file: string, model: Model): Promise<Input> {
  const [c, h, w] = model.graph.input.shape;
  if (c !== 3) throw new UserError(`model ${model.id}: input has ${c} channels; only 3-channel inputs are supported`);
  if (!/\.npy$/i.test(file)) {
    const img = await decodeImage(file, model.preprocess);
    return { data: img.input, n: 1, h, w };
  }
  const arr = await readNpy(file);
  const shape = arr.shape.length === 3 ? [1, ...arr.shape] : arr.shape;
  if (shape.length !== 4 || shape[1] !== 3 || shape[2] !== h || shape[3] !== w) {
    throw new UserError(`${file}: shape (${arr.shape.join(', ')}) does not fit ${model.id}: expected N×3×${h}×${w} (NCHW, preprocessed)`);
  }
  const n = shape[0];
  if (n === 0) throw new UserError(`${file}: empty array`);
  const data = new Float32Array(n * h * w * 3);
  const hw = h * w;
  for (let b = 0; b < n; b++)
    for (let ch = 0; ch < 3; ch++) {
      const src = (b * 3 + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const v = arr.data[src + i];
        if (!Number.isFinite(v)) throw new UserError(`${file}: non-finite value at index ${src + i}`);
        data[(b * hw + i) * 3 + ch] = v;
      }
    }
  return { data, n, h, w };
}

/** A channels-last tensor's values (shape `tshape`) → NCHW order for the Caffe shape `shape`. */
function toNchw(data: Float32Array, tshape: number[], shape: number[]): Float32Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (data.length !== count) throw new Error(`blob of ${data.length} values, expected shape ${shape.join('×')}`);
  if (tshape.length <= 2) return data;
  const n = tshape[0];
  const c = tshape[tshape.length - 1];
  const inner = data.length / (n * c);
  const out = new Float32Array(data.length);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < inner; i++) {
      const src = (b * inner + i) * c;
      for (let ch = 0; ch < c; ch++) out[(b * c + ch) * inner + i] = data[src + ch];
    }
  return out;
}
