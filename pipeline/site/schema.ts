/**
 * Zod schemas for the content records of pipeline/content/types.ts. The Astro content layer
 * (site/content.config.ts) and `deepvis site build` validate with these same schemas, so the site
 * accepts exactly what the pipeline writes. Unknown extra fields are dropped (zod's default),
 * so an older site still builds newer data and the content store stays lean.
 */
import { z } from 'astro/zod';
import type { LayerRecord, MaxImage, ModelRecord, OptImage, TopClass, UnitRecord } from '../content/types.ts';
import { RESERVED_LAYER_SLUGS, RESERVED_MODEL_IDS, SAFE_SEGMENT } from './urls.ts';

const pair = z.tuple([z.number(), z.number()]);
const rf = z.object({ size: pair, stride: pair });
/** A path inside the data root: relative, `/`-separated, no `..`. */
const dataPath = z
  .string()
  .min(1)
  .refine((p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').includes('..'), {
    message: 'must be a path relative to the data root (no leading "/", no "..")',
  });

export const layerSchema = z
  .object({
    name: z.string().min(1),
    slug: z
      .string()
      .regex(SAFE_SEGMENT, 'layer slug must use only letters, digits, ".", "_" and "-"')
      .refine((s) => !RESERVED_LAYER_SLUGS.has(s), { message: 'layer slug is reserved by the site' }),
    kind: z.string(),
    shape: z.array(z.number().int()),
    units: z.number().int().nonnegative(),
    rf,
    classLayer: z.boolean(),
  });

export const modelSchema = z
  .object({
    id: z
      .string()
      .regex(SAFE_SEGMENT, 'model id must use only letters, digits, ".", "_" and "-"')
      .refine((s) => !RESERVED_MODEL_IDS.has(s), { message: 'model id is reserved by the site' }),
    name: z.string(),
    input: z.object({ size: pair, channelOrder: z.enum(['BGR', 'RGB']) }),
    layers: z.array(layerSchema),
    labels: z.array(z.object({ index: z.number().int(), synset: z.string().optional(), name: z.string() })).optional(),
  });

export const optImageSchema = z
  .object({
    preset: z.string(),
    seed: z.number().int(),
    file: dataPath,
    activation: z.number(),
    start_activation: z.number(),
    best_activation: z.number(),
    final_activation: z.number(),
    steps: z.number().int(),
    argmax_step: z.number().int().nullable(),
    wall_ms: z.number(),
    objective: z.enum(['center', 'channel']),
  });

export const maxImageSchema = z
  .object({
    file: z.string(),
    value: z.number(),
    y: z.number().int(),
    x: z.number().int(),
    patch: dataPath,
    deconv: dataPath,
    label: z.string().optional(),
    synset: z.string().optional(),
  });

export const topClassSchema = z
  .object({
    name: z.string(),
    synset: z.string().optional(),
    count: z.number().optional(),
    corr: z.number().optional(),
    source: z.enum(['topk', 'corr']),
  });

export const unitSchema = z
  .object({
    model: z.string(),
    layer: z.string(),
    layerSlug: z.string(),
    unit: z.number().int().nonnegative(),
    label: z.string().optional(),
    synset: z.string().optional(),
    rf,
    optimized: z.array(optImageSchema),
    maxImages: z.array(maxImageSchema),
    topClasses: z.array(topClassSchema),
  });

// Compile-time guarantee that the schemas describe exactly the contract's types.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _checks: [
  Same<z.infer<typeof layerSchema>, LayerRecord>,
  Same<z.infer<typeof modelSchema>, ModelRecord>,
  Same<z.infer<typeof optImageSchema>, OptImage>,
  Same<z.infer<typeof maxImageSchema>, MaxImage>,
  Same<z.infer<typeof topClassSchema>, TopClass>,
  Same<z.infer<typeof unitSchema>, UnitRecord>,
] = [true, true, true, true, true, true];
void _checks;

/** "units.0.optimized.2.file: must be …" — the first problem of a failed parse, on one line. */
export function describeZodError(e: z.ZodError): string {
  const issue = e.issues[0];
  if (!issue) return 'invalid';
  const where = issue.path.length ? `${issue.path.join('.')}: ` : '';
  const more = e.issues.length > 1 ? ` (and ${e.issues.length - 1} more)` : '';
  return `${where}${issue.message}${more}`;
}
