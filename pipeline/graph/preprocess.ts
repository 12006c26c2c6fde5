import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.ts';
import type { Pair, Preprocess } from './types.ts';

/**
 * Preprocessing of ONNX and TF.js models: a named preset, then the sidecar JSON, then flags.
 * Every preset maps onto Preprocess: input = (pixel·scale − mean) / std, pixel in 0–255, in the
 * network's channel order; images are resized to `resize` then centre-cropped to the input size.
 *
 * - `pytorch` (default for ONNX): torchvision ImageNet — RGB, scale 1/255,
 *   mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]; resize = input·256/224 (256 for 224).
 * - `tf` (default for TF.js): Keras/TF "inception" convention, RGB in [−1, 1] (scale 1/127.5, mean 1).
 * - `unit`: RGB in [0, 1] (scale 1/255).
 * - `caffe`: BGR, 0–255, mean B104 G117 R123 (the Caffe models' preprocessing).
 * - `raw`: RGB, 0–255, nothing subtracted.
 */

export type PreprocessPresetName = 'pytorch' | 'tf' | 'unit' | 'caffe' | 'raw';
export const PREPROCESS_PRESETS: Record<PreprocessPresetName, Omit<Preprocess, 'size' | 'resize'>> = {
  pytorch: { channelOrder: 'RGB', scale: 1 / 255, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
  tf: { channelOrder: 'RGB', scale: 1 / 127.5, mean: [1, 1, 1], std: [1, 1, 1] },
  unit: { channelOrder: 'RGB', scale: 1 / 255, mean: [0, 0, 0], std: [1, 1, 1] },
  caffe: { channelOrder: 'BGR', scale: 1, mean: [104, 117, 123], std: [1, 1, 1] },
  raw: { channelOrder: 'RGB', scale: 1, mean: [0, 0, 0], std: [1, 1, 1] },
};

/** What a sidecar or the flags may set. `inputShape` fills symbolic input dimensions [C, H, W]. */
export interface PreprocessSpec extends Partial<Omit<Preprocess, 'size'>> {
  preset?: PreprocessPresetName;
  inputShape?: number[];
}

/** Resize before the centre crop: torchvision's 256/224 ratio. */
export function defaultResize(size: Pair): Pair {
  return [Math.round((size[0] * 256) / 224), Math.round((size[1] * 256) / 224)];
}

export function buildPreprocess(size: Pair, fallback: PreprocessPresetName, spec: PreprocessSpec): Preprocess {
  const base = PREPROCESS_PRESETS[spec.preset ?? fallback];
  return {
    size,
    resize: spec.resize ?? defaultResize(size),
    channelOrder: spec.channelOrder ?? base.channelOrder,
    mean: spec.mean ?? [...base.mean],
    std: spec.std ?? [...base.std],
    scale: spec.scale ?? base.scale,
  };
}

/** Validates a `preprocess` object (from a sidecar or an inline flag). `where` names the source in errors. */
export function parsePreprocessObject(pre: unknown, where: string, keyPrefix = ''): PreprocessSpec {
  const bad = (msg: string): never => {
    throw new UserError(`${where}: ${msg}`);
  };
  if (typeof pre !== 'object' || pre === null || Array.isArray(pre)) bad('"preprocess" must be an object');
  const obj = pre as Record<string, unknown>;
  const nums = (k: string, n: number | undefined, positive: boolean): number[] => {
    const v = obj[k];
    if (!Array.isArray(v) || (n !== undefined && v.length !== n) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x) || (positive && x <= 0)))
      bad(`${keyPrefix}${k} must be ${n ?? 'some'} ${positive ? 'positive ' : ''}numbers`);
    return v as number[];
  };
  const out: PreprocessSpec = {};
  for (const k of Object.keys(obj)) {
    if (k === 'preset') {
      if (typeof obj.preset !== 'string' || !(obj.preset in PREPROCESS_PRESETS))
        bad(`${keyPrefix}preset must be one of ${Object.keys(PREPROCESS_PRESETS).join(', ')}`);
      out.preset = obj.preset as PreprocessPresetName;
    } else if (k === 'resize') out.resize = nums(k, 2, true) as Pair;
    else if (k === 'inputShape') out.inputShape = nums(k, 3, true);
    else if (k === 'mean') out.mean = nums(k, 3, false) as [number, number, number];
    else if (k === 'std') out.std = nums(k, 3, true) as [number, number, number];
    else if (k === 'scale') {
      if (typeof obj.scale !== 'number' || !(obj.scale > 0)) bad(`${keyPrefix}scale must be a positive number`);
      out.scale = obj.scale as number;
    } else if (k === 'channelOrder') {
      if (obj.channelOrder !== 'BGR' && obj.channelOrder !== 'RGB') bad(`${keyPrefix}channelOrder must be "BGR" or "RGB"`);
      out.channelOrder = obj.channelOrder as 'BGR' | 'RGB';
    } else bad(`unknown preprocess key "${k}" (expected preset, inputShape, resize, channelOrder, mean, std, scale)`);
  }
  return out;
}

/** Reads a sidecar `{ "preprocess": { … } }`; undefined when the file does not exist. */
export async function readPreprocessSidecar(path: string): Promise<PreprocessSpec | undefined> {
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new UserError(`${path}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new UserError(`${path}: expected a JSON object`);
  for (const k of Object.keys(json)) if (k !== 'preprocess') throw new UserError(`${path}: unknown key "${k}" (expected "preprocess")`);
  return parsePreprocessObject((json as { preprocess?: unknown }).preprocess ?? {}, path, 'preprocess.');
}

/**
 * The `--preprocess` flag: a preset name (`pytorch`), a JSON file with `{ "preprocess": … }`, or
 * inline `key=value` pairs separated by `;` (`preset=pytorch;inputShape=3,224,224;channelOrder=BGR`).
 */
export async function parsePreprocessFlag(value: string): Promise<PreprocessSpec> {
  if (value in PREPROCESS_PRESETS) return { preset: value as PreprocessPresetName };
  if (/\.json$/i.test(value)) {
    const spec = await readPreprocessSidecar(value);
    if (!spec) throw new UserError(`--preprocess ${value}: file not found`);
    return spec;
  }
  const obj: Record<string, unknown> = {};
  for (const part of value
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(part);
    if (!m) throw new UserError(`--preprocess: "${part}" is not key=value (presets: ${Object.keys(PREPROCESS_PRESETS).join(', ')})`);
    const [, k, v] = m;
    obj[k] =
      k === 'preset' || k === 'channelOrder'
        ? v
        : v.includes(',') || ['resize', 'inputShape', 'mean', 'std'].includes(k)
          ? v.split(',').map(Number)
          : Number(v);
  }
  return parsePreprocessObject(obj, '--preprocess');
}

/** The optional `--preprocess` flag of the commands that load a model. */
export async function preprocessOption(value: string | undefined): Promise<PreprocessSpec | undefined> {
  return value === undefined ? undefined : parsePreprocessFlag(value);
}
