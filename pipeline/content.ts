/**
 * `deepvis/content`: the records the pipeline writes and the site reads (types and their zod
 * schemas), without the compute engine. A gallery's data folder holds
 * `<model>/model.json` (ModelRecord) and, per unit, the parts of its UnitRecord under
 * `<model>/units/<layer>/<unit>/`; `readUnitRecord` assembles one.
 */
export type { LayerRecord, ModelRecord, LabelRecord, OptImage, MaxImage, TopClass, UnitRecord } from './content/types.ts';
export { layerSchema, modelSchema, labelSchema, optImageSchema, maxImageSchema, topClassSchema, unitSchema, describeZodError } from './content/schema.ts';
export { layerSlug } from './content/ids.ts';
export { readUnitRecord, listLayerUnits, scanPartSchema, type ScanPart } from './content/unit-store.ts';
