import { readPreprocessSidecar } from '../graph/preprocess.ts';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { importCaffe } from './caffe/import.ts';
import { UserError } from '../core/errors.ts';
import type { Graph, Model, Preprocess } from '../graph/types.ts';
import { findLabelsFile, readLabels } from './labels.ts';
import { loadImportedModel } from './load-file.ts';
import type { PreprocessSpec } from '../graph/preprocess.ts';
import { resolvePreset as resolveModelPreset } from './model-presets.ts';

export interface LoadOptions {
  /** Read the .caffemodel (default true). Without one, graph.weights stays undefined. */
  weights?: boolean;
  /** Mean to subtract, in the network's channel order (overrides deepvis.json and the default). */
  mean?: [number, number, number];
  /** ONNX / TF.js models: preprocessing from the --preprocess flag (model/preprocess-imported.ts). */
  preprocess?: PreprocessSpec;
}

/** Names `--model` accepts besides paths. */
export const MODEL_PRESET_NAMES = ['bvlc_googlenet', 'squeezenet_v1.1'] as const;

/** Where a model's files are. */
export interface ModelLocation {
  /** The model folder (labels and deepvis.json are looked up here). */
  dir: string;
  /** Model.id: the folder's name. */
  id: string;
  prototxt: string;
  caffemodel?: string;
}

/**
 * Loads a model: `spec` is a folder with one .prototxt (deploy.prototxt preferred when there are
 * several) and optionally one .caffemodel plus labels, a .prototxt file alone (no weights), or a
 * preset name.
 */
export async function loadModel(spec: string, opts: LoadOptions = {}): Promise<Model> {
  const imported = await loadImportedModel(spec, opts); // .onnx, TF.js model.json: model/load-imported.ts
  if (imported) return imported;
  if (opts.preprocess)
    throw new UserError(`--preprocess applies to ONNX and TF.js models; a Caffe model folder takes its preprocessing from deepvis.json (docs/caffe-import.md)`);
  const loc = await locateModel(spec);
  const graph = await importCaffe(loc.prototxt, opts.weights === false ? undefined : loc.caffemodel);
  const files = await readdir(loc.dir);
  const preprocess = await readPreprocess(loc.dir, files, graph, opts.mean);
  const labelsFile = await findLabelsFile(loc.dir, files);
  const labels = labelsFile ? await readLabels(labelsFile) : undefined;
  if (labels) {
    const out = graph.blobs[graph.blobs.length - 1];
    if (out.shape[0] !== labels.length)
      throw new UserError(`${labelsFile}: ${labels.length} labels, but the net's output "${out.name}" has ${out.shape[0]} channels`);
  }
  return { id: loc.id, graph, preprocess, labels, source: loc.caffemodel && opts.weights !== false ? loc.dir : loc.prototxt };
}

/**
 * ModelPreset names → a model folder. THE single place where presets are resolved (the presets module
 * plugs in here: `$DEEPVIS_ASSETS/models/<name>`, else a download into the cache). Returns
 * undefined when `spec` is not a preset.
 */
async function resolvePreset(spec: string): Promise<string | undefined> {
  return resolveModelPreset(spec);
}

function notFound(spec: string): UserError {
  return new UserError(`model not found: ${spec} (expected a folder with a .prototxt, a .prototxt file, or a preset name: ${MODEL_PRESET_NAMES.join(', ')})`);
}

export async function locateModel(spec: string): Promise<ModelLocation> {
  const path = resolve(spec);
  const st = await stat(path).catch(() => undefined);
  if (!st) {
    const preset = await resolvePreset(spec);
    if (preset) return locateModel(preset);
    throw notFound(spec);
  }
  if (st.isFile()) {
    if (!/\.prototxt$/i.test(path)) throw new UserError(`--model ${spec}: expected a folder or a .prototxt file`);
    const dir = dirname(path);
    return { dir, id: basename(dir), prototxt: path };
  }
  if (!st.isDirectory()) throw notFound(spec);
  const files = (await readdir(path)).sort();
  const protos = files.filter((f) => /\.prototxt$/i.test(f) && !/solver/i.test(f));
  const models = files.filter((f) => /\.caffemodel$/i.test(f));
  let proto: string;
  if (protos.length === 1) proto = protos[0];
  else if (protos.includes('deploy.prototxt')) proto = 'deploy.prototxt';
  else if (protos.length === 0) throw new UserError(`${spec}: no .prototxt in the model folder`);
  else throw new UserError(`${spec}: several .prototxt files (${protos.join(', ')}) and no deploy.prototxt; pass the one to use`);
  if (models.length > 1) throw new UserError(`${spec}: several .caffemodel files (${models.join(', ')}); keep one in the folder`);
  return { dir: path, id: basename(path), prototxt: join(path, proto), caffemodel: models.length ? join(path, models[0]) : undefined };
}

/** Caffe reference preprocessing, overridable by `deepvis.json` in the model folder. */
export function defaultPreprocess(graph: Graph): Preprocess {
  return {
    size: [graph.input.shape[1], graph.input.shape[2]],
    resize: [256, 256],
    channelOrder: 'BGR',
    mean: [104, 117, 123],
    std: [1, 1, 1],
    scale: 1,
  };
}

async function readPreprocess(dir: string, files: string[], graph: Graph, mean?: [number, number, number]): Promise<Preprocess> {
  const p = defaultPreprocess(graph);
  if (files.includes('deepvis.json')) Object.assign(p, await readSidecar(join(dir, 'deepvis.json')));
  if (mean) p.mean = [...mean];
  return p;
}

/**
 * `deepvis.json` beside a Caffe model: `{ "preprocess": { "resize": [h, w], "channelOrder": "RGB",
 * "mean": [..], "std": [..], "scale": 1 } }`, validated by the one preprocess validator.
 */
async function readSidecar(path: string): Promise<Partial<Preprocess>> {
  const spec = (await readPreprocessSidecar(path)) ?? {};
  for (const k of ['preset', 'inputShape'] as const) {
    if (spec[k] !== undefined) throw new UserError(`${path}: "${k}" is for ONNX / TF.js models; a Caffe model takes resize, channelOrder, mean, std, scale`);
  }
  const { resize, channelOrder, mean, std, scale } = spec;
  return Object.fromEntries(Object.entries({ resize, channelOrder, mean, std, scale }).filter(([, v]) => v !== undefined));
}
