/**
 * The gallery content the pipeline writes under `data/` and the site reads. This file is the
 * contract between the two; site/content.config.ts validates exactly these shapes.
 *
 * Layout (paths relative to the data root, default `data/`):
 *   <model>/model.json                              ModelRecord
 *   <model>/units/<layer-slug>/<unit>.json          UnitRecord (one per unit, merged by optimize and scan)
 *   <model>/img/<layer-slug>/<unit>/opt-<preset>-<seed>.webp   optimised images
 *   <model>/img/<layer-slug>/<unit>/max-<k>.webp, deconv-<k>.webp  top-k patches and their deconv
 *   <model>/state/…                                 resumable checkpoints (not read by the site)
 * Every `file`/`patch`/`deconv` path inside records is relative to the data root.
 * Layer slug: the blob name with every `/` replaced by `-`.
 */

export interface LayerRecord {
  /** Blob name, e.g. `inception_4c/output`. */
  name: string;
  /** URL/folder slug: `/` → `-`. */
  slug: string;
  /** Kind of the producing layer (conv, fc, pool, concat…). */
  kind: string;
  /** C×H×W, or [C] for fully connected. */
  shape: number[];
  units: number;
  /** Receptive field of one unit in input pixels. */
  rf: { size: [number, number]; stride: [number, number] };
  /** True for the layer whose units are the output classes (labels apply by unit index). */
  classLayer: boolean;
}

export interface ModelRecord {
  id: string;
  name: string;
  input: { size: [number, number]; channelOrder: 'BGR' | 'RGB' };
  layers: LayerRecord[];
  /** Output class labels by index (absent when the model has none). */
  labels?: { index: number; synset?: string; name: string }[];
  /**
   * The `--model` the gallery was made with: a preset name, or a model folder (absolute, or relative
   * to the data root). `deepvis site build` exports this network for the probe page; without it the
   * model has no probe.
   */
  source?: string;
  /** ONNX / TF.js: the --preprocess the gallery was made with (a PreprocessSpec), applied again when `source` is re-loaded. */
  preprocess?: Record<string, unknown>;
}

export interface OptImage {
  preset: string;
  seed: number;
  /** WebP at the model's input size, relative to the data root. */
  file: string;
  /** Activation of the unit on the kept (best) image. */
  activation: number;
  start_activation: number;
  best_activation: number;
  final_activation: number;
  steps: number;
  /** First step at which the unit was the arg-max of its layer, or null. */
  argmax_step: number | null;
  wall_ms: number;
  objective: 'center' | 'channel';
}

export interface MaxImage {
  /** Source image, relative to the scanned images root. */
  file: string;
  value: number;
  /** Arg-max position in the blob (0,0 for fc units). */
  y: number;
  x: number;
  /** Receptive-field patch (WebP), relative to the data root. */
  patch: string;
  /** Deconv of the unit on this image, cropped like the patch (WebP), relative to the data root. */
  deconv: string;
  /** True class of the source image when its name or folder gives a synset. */
  label?: string;
  synset?: string;
}

export interface TopClass {
  name: string;
  synset?: string;
  /** How many of the unit's top-k images have this class (source `topk`). */
  count?: number;
  /** Correlation of the class's predicted probability with the unit's activation (source `corr`). */
  corr?: number;
  source: 'topk' | 'corr';
}

export interface UnitRecord {
  model: string;
  layer: string;
  layerSlug: string;
  unit: number;
  /** Class name for class-layer units. */
  label?: string;
  synset?: string;
  rf: { size: [number, number]; stride: [number, number] };
  optimized: OptImage[];
  maxImages: MaxImage[];
  topClasses: TopClass[];
}

export function layerSlug(blob: string): string {
  return blob.replace(/\//g, '-');
}
