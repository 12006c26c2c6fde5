/**
 * Content collections read from the data root (DEEPVIS_DATA, default data/): `models` from
 * <model>/model.json and `units` from <model>/units/<layer-slug>/<unit>.json. Records are read and
 * validated once by pipeline/site/data.ts with the schemas of pipeline/site/schema.ts (the same
 * code `deepvis site build` uses).
 *
 * A unit entry holds what the site shows of its validated UnitRecord as one compact JSON string
 * (site/lib/site-unit.ts; site/lib/gallery.ts decodes it). Astro bundles the whole content store
 * into the build as a JS module of devalue-flattened values: 10,568 records as objects became
 * millions of array elements for Rollup to parse (3.3 GB peak RSS, measured); as strings they are
 * 10,568 elements.
 */
import { defineCollection, z } from 'astro:content';
import { readGallery, resolveDataRoot } from '../pipeline/site/data.ts';
import { modelSchema } from '../pipeline/site/schema.ts';
import { encodeSiteUnit } from './lib/site-unit.ts';

let reading: ReturnType<typeof readGallery> | undefined;
const gallery = () => (reading ??= readGallery(resolveDataRoot()));

const models = defineCollection({
  loader: {
    name: 'deepvis-models',
    load: async ({ store }) => {
      const g = await gallery();
      store.clear();
      for (const m of g.models) store.set({ id: m.id, data: { ...m } });
    },
  },
  schema: modelSchema,
});

const units = defineCollection({
  loader: {
    name: 'deepvis-units',
    load: async ({ store, logger }) => {
      const g = await gallery();
      store.clear();
      for (const u of g.units) store.set({ id: `${u.model}/${u.layerSlug}/${u.unit}`, data: { json: encodeSiteUnit(u) } });
      logger.info(`${g.units.length} unit records from ${g.root}`);
    },
  },
  /** `json`: a SiteUnit (site/lib/site-unit.ts) of a record validated by unitSchema on reading. */
  schema: z.object({ json: z.string() }),
});

export const collections = { models, units };
