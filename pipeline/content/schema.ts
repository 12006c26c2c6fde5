/**
 * The gallery content: what the pipeline writes under the data root and the site reads. These zod
 * schemas ARE the contract; the TypeScript types in ./types.ts are derived from them. The writers
 * (./model-record.ts, ./unit-store.ts), the site's reader and snapshot (pipeline/site/data.ts,
 * snapshot.ts), the Astro content layer (site/content.config.ts) and the probe export
 * (pipeline/site/export/) all use them, so every side accepts exactly what the pipeline writes.
 *
 * Layout (paths relative to the data root, default `data/`):
 *   <model>/model.json                              ModelRecord
 *   <model>/units/<layer-slug>/<unit>/opt-<preset>-<seed>.json, scan.json   the parts of a UnitRecord
 *                                                   (assembled when read: ./unit-store.ts)
 *   <model>/img/<layer-slug>/<unit>/opt-<preset>-<seed>.webp   optimised images
 *   <model>/img/<layer-slug>/<unit>/max-<k>.webp, deconv-<k>.webp  top-k patches and their deconv
 *   <model>/state/…                                 resumable checkpoints (not read by the site)
 * Every `file`/`patch`/`deconv` path inside records is relative to the data root.
 *
 * Unknown extra fields are dropped (zod's default), so an older site still builds newer data.
 */
import { z } from 'zod';
import { RESERVED_LAYER_SLUGS, RESERVED_MODEL_IDS, SAFE_SEGMENT } from './ids.ts';

const pair = z.tuple([z.number(), z.number()]);
/** Receptive field of one unit in input pixels. */
export const rfSchema = z.object({ size: pair, stride: pair });
/** A path inside the data root: relative, `/`-separated, no `..`. */
const dataPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').includes('..'), {
    message: 'must be a path relative to the data root (no leading "/", no "..")',
  });

const conceptOne = z.object({ synset: z.string(), name: z.string(), share: z.number() });
export const conceptSchema = conceptOne.extend({ runnerUp: conceptOne.optional() });

/** A unit's activation over the scanned images (conv units: the maximum over positions, per image). */
export const unitStatsSchema = z.object({
  images: z.number().int().nonnegative(),
  mean: z.number(),
  std: z.number(),
  /** Fraction of images where the unit is ≤ 0 everywhere. */
  dead: z.number(),
  /** Fraction of images where it reaches half its largest activation (to within a ×1.19 bin). */
  selectivity: z.number(),
  /** Images ≤ 0, then counts of log-spaced bins (perOctave per ×2) from `from` up. */
  hist: z.object({ dead: z.number().int(), from: z.number(), perOctave: z.number().int().positive(), counts: z.array(z.number().int()) }),
});

/** A layer's units at a glance (`<model>/layers/<layer-slug>.json`, written by the scan). */
export const layerStatsSchema = z.object({
  layer: z.string(),
  images: z.number().int().nonnegative(),
  units: z.number().int().nonnegative(),
  /** Units dead on every scanned image. */
  dead: z.number().int().nonnegative(),
  /** Units active (> 0) on fewer than 1 % of the images, dead ones excluded. */
  rare: z.number().int().nonnegative(),
  /** Per unit: its largest activation over the scan, and the fraction of images where it is dead. */
  max: z.array(z.number()),
  deadFraction: z.array(z.number()),
});

export const layerSchema = z.object({
  /** Blob name, e.g. `inception_4c/output`. */
  name: z.string().min(1),
  /** URL/folder slug: `/` → `-`. */
  slug: z
    .string()
    .regex(SAFE_SEGMENT, 'layer slug must use only letters, digits, ".", "_" and "-"')
    .refine((s) => !RESERVED_LAYER_SLUGS.has(s), { message: 'layer slug is reserved by the site' }),
  /** Kind of the producing layer (conv, fc, pool, concat, tokengrid…; `classtoken`: a transformer's class token, C units on a 1×1 grid). */
  kind: z.string(),
  /** C×H×W, or [C] for fully connected. */
  shape: z.array(z.number().int()),
  units: z.number().int().nonnegative(),
  rf: rfSchema,
  /** True for the layer whose units are the output classes (labels apply by unit index). */
  classLayer: z.boolean(),
  /** The scan's statistics of every unit (from `<model>/layers/<slug>.json`, added when the gallery is read; not in model.json). */
  stats: layerStatsSchema.optional(),
});

export const labelSchema = z.object({ index: z.number().int(), synset: z.string().optional(), name: z.string() });

export const modelSchema = z.object({
  id: z
    .string()
    .regex(SAFE_SEGMENT, 'model id must use only letters, digits, ".", "_" and "-"')
    .refine((s) => !RESERVED_MODEL_IDS.has(s), { message: 'model id is reserved by the site' }),
  name: z.string(),
  input: z.object({ size: pair, channelOrder: z.enum(['BGR', 'RGB']) }),
  layers: z.array(layerSchema),
  /** Output class labels by index (absent when the model has none). */
  labels: z.array(labelSchema).optional(),
  /**
   * The `--model` the gallery was made with: a preset name, or a model folder (absolute, or relative
   * to the data root). `deepvis site build` exports this network for the probe page; without it the
   * model has no probe.
   */
  source: z.string().min(1, '"source" must be a model folder or preset name').optional(),
  /** ONNX / TF.js: the --preprocess the gallery was made with (a PreprocessSpec), applied again when `source` is re-loaded. */
  preprocess: z.record(z.unknown()).optional(),
  /** `--random-weights S`: the seed of the random weights that filled or replaced the source's, drawn again when it is re-loaded. */
  randomWeights: z.number().int().nonnegative().optional(),
});

/** A second network's verdict on an optimised image (`--judge-model`, class units): its top 5 and whether the unit's class is among them. */
export const judgeSchema = z.object({
  model: z.string(),
  hit: z.boolean(),
  top5: z.array(z.object({ index: z.number().int(), label: z.string(), prob: z.number() })),
});

export const optImageSchema = z.object({
  preset: z.string(),
  seed: z.number().int(),
  /** WebP at the model's input size, relative to the data root. */
  file: dataPath,
  /** Activation of the unit on the kept (best) image. */
  activation: z.number(),
  start_activation: z.number(),
  best_activation: z.number(),
  final_activation: z.number(),
  steps: z.number().int(),
  /** First step at which the unit was the arg-max of its layer, or null. */
  argmax_step: z.number().int().nullable(),
  /** Compute time (older records only: records now hold nothing that differs between identical runs). */
  wall_ms: z.number().optional(),
  objective: z.enum(['center', 'channel']),
  /** The optimising model's own top-1 class of the image. */
  top1: z.object({ index: z.number().int(), label: z.string().optional() }).optional(),
  judge: judgeSchema.optional(),
});

/** How a gradient map was scaled into its 8-bit image (pipeline/image/maps.ts). */
export const mapScaleSchema = z.object({ clip: z.number(), max: z.number() });

export const maxImageSchema = z.object({
  /** Source image, relative to the scanned images root. */
  file: z.string(),
  value: z.number(),
  /** Arg-max position in the blob (0,0 for fc units). */
  y: z.number().int(),
  x: z.number().int(),
  /** Receptive-field patch (WebP), relative to the data root. */
  patch: dataPath,
  /** Deconv of the unit on this image, cropped like the patch (WebP), relative to the data root. */
  deconv: dataPath,
  /** The same map as a heat map of its per-pixel norm over the patch (WebP), relative to the data root. */
  heat: dataPath.optional(),
  /** The raw maps' scale: the |value| each image's range spans (a high percentile) and the largest. */
  scale: z.object({ deconv: mapScaleSchema, heat: mapScaleSchema }).optional(),
  /** True class of the source image when its name or folder gives a synset. */
  label: z.string().optional(),
  synset: z.string().optional(),
});

export const topClassSchema = z.object({
  name: z.string(),
  synset: z.string().optional(),
  /** How many of the unit's top-k images have this class (source `topk`). */
  count: z.number().optional(),
  /** Correlation of the class's predicted probability with the unit's activation (source `corr`). */
  corr: z.number().optional(),
  source: z.enum(['topk', 'corr']),
});

/**
 * How strongly units of an earlier blob feed this unit (pipeline/graph/circuits.ts,
 * stages/scan/circuits.ts): `weights` — the weight mass Σ|w| of a direct conv/fc connection;
 * `gradient` — gradient × activation summed over positions, averaged over the unit's top images;
 * `same` — this unit IS that channel (through per-channel layers only). The strongest first, at
 * most CIRCUIT_INPUTS; `share` is the value over the sum of all positive values.
 */
export const circuitInputsSchema = z.object({
  blob: z.string(),
  method: z.enum(['weights', 'gradient', 'same']),
  inputs: z.array(z.object({ unit: z.number().int().nonnegative(), value: z.number(), share: z.number() })),
  /** `gradient`: how many top images were averaged. */
  images: z.number().int().nonnegative().optional(),
});
export const circuitSchema = z.object({
  /** From the previous gallery layer. */
  upstream: circuitInputsSchema,
  /** From the blob the unit's own conv reads, when that is not the previous gallery layer (an inception branch). */
  branch: circuitInputsSchema.optional(),
});

export const unitSchema = z.object({
  model: z.string(),
  layer: z.string(),
  layerSlug: z.string(),
  unit: z.number().int().nonnegative(),
  /** Class name for class-layer units. */
  label: z.string().optional(),
  synset: z.string().optional(),
  rf: rfSchema,
  optimized: z.array(optImageSchema),
  maxImages: z.array(maxImageSchema),
  topClasses: z.array(topClassSchema),
  /** Activation statistics from the scan (absent before a scan). */
  stats: unitStatsSchema.optional(),
  /** Class units: their synset's WordNet hypernyms, nearest first (pipeline/graph/concepts.ts). */
  hypernyms: z.array(z.string()).optional(),
  /** Hidden units: the most specific WordNet synset covering most of the top images, and the best alternative. */
  concept: conceptSchema.optional(),
  /**
   * Per preset with two or more seeds: how alike the seeds' images are to the model itself (mean
   * pairwise cosine similarity of their penultimate features, from the `blob` named).
   */
  agreement: z.array(z.object({ preset: z.string(), seeds: z.number().int(), similarity: z.number(), blob: z.string() })).optional(),
  /** Which units of earlier blobs feed this one most (absent for a gallery's first layer). */
  circuit: circuitSchema.optional(),
});

/** "units.0.optimized.2.file: must be …" — the first problem of a failed parse, on one line. */
export function describeZodError(e: z.ZodError): string {
  const issue = e.issues[0];
  if (!issue) return 'invalid';
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  const more = e.issues.length > 1 ? ` (and ${e.issues.length - 1} more)` : '';
  return `${where}${issue.message}${more}`;
}
