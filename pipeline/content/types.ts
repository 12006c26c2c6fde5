/** The content records' TypeScript types, derived from the schemas of ./schema.ts (the contract). */
import type { z } from 'zod';
import type {
  labelSchema,
  layerSchema,
  layerStatsSchema,
  maxImageSchema,
  modelSchema,
  optImageSchema,
  topClassSchema,
  unitSchema,
  unitStatsSchema,
  circuitInputsSchema,
  circuitSchema,
} from './schema.ts';

export type LayerRecord = z.infer<typeof layerSchema>;
export type ModelRecord = z.infer<typeof modelSchema>;
export type LabelRecord = z.infer<typeof labelSchema>;
export type OptImage = z.infer<typeof optImageSchema>;
export type MaxImage = z.infer<typeof maxImageSchema>;
export type TopClass = z.infer<typeof topClassSchema>;
export type UnitRecord = z.infer<typeof unitSchema>;
export type UnitStats = z.infer<typeof unitStatsSchema>;
export type LayerStats = z.infer<typeof layerStatsSchema>;
export type CircuitInputs = z.infer<typeof circuitInputsSchema>;
export type UnitCircuit = z.infer<typeof circuitSchema>;

export { layerSlug } from './ids.ts';
