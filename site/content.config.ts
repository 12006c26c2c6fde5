/**
 * Content collections read from the data root (DEEPVIS_DATA, default data/): `models` from
 * <model>/model.json and `units` from <model>/units/<layer-slug>/<unit>.json. Records are read and
 * validated once by pipeline/site/data.ts with the schemas of pipeline/content/schema.ts (the same
 * code `deepvis site build` uses).
 *
 * `deepvis site build` validates once and hands the records over in a snapshot file
 * (DEEPVIS_SNAPSHOT, pipeline/site/snapshot.ts); without one (e.g. `astro dev`) they are read here.
 *
 * A unit entry holds what the site shows of its validated UnitRecord as one compact JSON string
 * (pipeline/site/snapshot.ts; site/lib/gallery.ts decodes it). Astro bundles the whole content store
 * into the build as a JS module of devalue-flattened values: 10,568 records as objects became
 * millions of array elements for Rollup to parse (3.3 GB peak RSS, measured); as strings they are
 * 10,568 elements.
 */
import { defineCollection, z } from 'astro:content';
import { readGallery, resolveDataRoot } from '../pipeline/site/data.ts';
import { modelSchema } from '../pipeline/content/schema.ts';
import { encodeSiteUnits, readSnapshot, unitId } from '../pipeline/site/snapshot.ts';

/** The content: the build command's snapshot when there is one, else the data root read here. */
async function loadContent() {
  const snapshot = process.env.DEEPVIS_SNAPSHOT;
  if (snapshot) return { from: snapshot, ...(await readSnapshot(snapshot)) };
  // A data folder without models (a fresh clone's `npm run typecheck`, `astro dev` before any
  // pipeline run) makes an empty site; a missing folder or a bad record is still an error.
  const g = await readGallery(resolveDataRoot(), { allowEmpty: true });
  return { from: g.root, models: g.models, units: encodeSiteUnits(g.units).map((json, i) => ({ id: unitId(g.units[i]), json })) };
}

let loading: ReturnType<typeof loadContent> | undefined;
const content = () => (loading ??= loadContent());

const models = defineCollection({
  loader: {
    name: 'deepvis-models',
    load: async ({ store }) => {
      const c = await content();
      store.clear();
      for (const m of c.models) store.set({ id: m.id, data: { ...m } });
    },
  },
  schema: modelSchema,
});

const units = defineCollection({
  loader: {
    name: 'deepvis-units',
    load: async ({ store, logger }) => {
      const c = await content();
      store.clear();
      for (const u of c.units) store.set({ id: u.id, data: { json: u.json } });
      logger.info(`${c.units.length} unit records from ${c.from}`);
    },
  },
  /** `json`: a SiteUnit (pipeline/site/snapshot.ts) of a record validated by unitSchema on reading. */
  schema: z.object({ json: z.string() }),
});

export const collections = { models, units };
