import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { UserError } from '../core/errors.ts';
import type { Graph, Model } from '../graph/types.ts';
import { importOnnx } from './onnx/import.ts';
import { readModel } from './onnx/proto.ts';
import { importTfjs } from './tfjs/import.ts';
import { findLabelsFile, readLabels } from './labels.ts';
import { buildPreprocess, readPreprocessSidecar, type PreprocessSpec } from '../graph/preprocess.ts';

/**
 * `--model` for ONNX and TensorFlow.js models: a `.onnx` file, a TF.js `model.json` (Layers or
 * Graph model, weight shards beside it), or a folder holding one of them (and no .prototxt).
 * Preprocessing: preset (ONNX: pytorch, TF.js: tf) < `deepvis.json` in the folder or
 * `<model>.deepvis.json` beside the file < `opts.preprocess` (the --preprocess flag).
 * Labels as for Caffe models (synset_words.txt / *labels*.txt in the folder).
 */

export interface ImportedLoadOptions {
  /** Read the weights (default true). TF.js without weights: graph.weights stays undefined. */
  weights?: boolean;
  /** Mean override, as for Caffe models. */
  mean?: [number, number, number];
  /** From the --preprocess flag: overrides the sidecar. */
  preprocess?: PreprocessSpec;
}

type Kind = 'onnx' | 'tfjs';

async function locate(spec: string): Promise<{ file: string; kind: Kind } | undefined> {
  const path = resolve(spec);
  const st = await stat(path).catch(() => undefined);
  if (!st) return undefined;
  if (st.isFile()) {
    if (/\.onnx$/i.test(path)) return { file: path, kind: 'onnx' };
    if (/\.json$/i.test(path)) return { file: path, kind: 'tfjs' };
    return undefined;
  }
  if (!st.isDirectory()) return undefined;
  const files = (await readdir(path)).sort();
  if (files.some((f) => /\.prototxt$/i.test(f))) return undefined;
  const onnx = files.filter((f) => /\.onnx$/i.test(f));
  if (onnx.length > 1) throw new UserError(`${spec}: several .onnx files (${onnx.join(', ')}); pass the one to use`);
  if (onnx.length === 1) return { file: join(path, onnx[0]), kind: 'onnx' };
  if (files.includes('model.json')) return { file: join(path, 'model.json'), kind: 'tfjs' };
  return undefined;
}

/** The model's id: the file's name, or its folder's for the generic names model.onnx / model.json. */
function modelId(file: string): string {
  const stem = basename(file, extname(file));
  return stem === 'model' ? basename(dirname(file)) : stem;
}

/** Loads an ONNX or TF.js model, or returns undefined when `spec` is neither (a Caffe model, a preset). */
export async function loadImportedModel(spec: string, opts: ImportedLoadOptions = {}): Promise<Model | undefined> {
  const loc = await locate(spec);
  if (!loc) return undefined;
  const dir = dirname(loc.file);
  const stem = basename(loc.file, extname(loc.file));
  const sidecar = (await readPreprocessSidecar(join(dir, `${stem}.deepvis.json`))) ?? (await readPreprocessSidecar(join(dir, 'deepvis.json'))) ?? {};
  const spec2: PreprocessSpec = { ...sidecar, ...opts.preprocess };
  const inputShape = spec2.inputShape;
  let graph: Graph;
  if (loc.kind === 'onnx') {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(loc.file);
    } catch (e) {
      throw new UserError(`cannot read ${loc.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    graph = importOnnx(readModel(bytes, loc.file), { file: loc.file, baseDir: dir, inputShape }).graph;
  } else {
    graph = (await importTfjs(loc.file, { weights: opts.weights !== false, inputShape })).graph;
  }
  const [, h, w] = graph.input.shape;
  const preprocess = buildPreprocess([h, w], loc.kind === 'onnx' ? 'pytorch' : 'tf', spec2);
  if (opts.mean) preprocess.mean = [...opts.mean];
  const files = await readdir(dir);
  const labelsFile = await findLabelsFile(dir, files);
  const labels = labelsFile ? await readLabels(labelsFile) : undefined;
  if (labels) {
    const out = graph.blobs[graph.blobs.length - 1];
    if (out.shape[0] !== labels.length)
      throw new UserError(`${labelsFile}: ${labels.length} labels, but the net's output "${out.name}" has ${out.shape[0]} channels`);
  }
  const model: Model = { id: modelId(loc.file), graph, preprocess, labels, source: loc.file };
  if (opts.preprocess && Object.keys(opts.preprocess).length) model.preprocessSpec = opts.preprocess;
  return model;
}
