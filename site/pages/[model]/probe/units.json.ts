/**
 * /<model>/probe/units.json — the gallery's units of one model for the probe page (fetched only
 * after the visitor loads the network): per layer, every unit that has a page and its thumbnail.
 * Shape: site/probe/units.ts UnitsIndex.
 */
import type { APIRoute, GetStaticPaths } from 'astro';
import { modelPaths, modelView } from '../../../lib/gallery.ts';
import { unitThumb } from '../../../lib/format.ts';
import type { UnitsIndex } from '../../../probe/units.ts';

export const getStaticPaths = modelPaths satisfies GetStaticPaths;

export const GET: APIRoute = async ({ params }) => {
  const mv = await modelView(params.model);
  const index: UnitsIndex = {
    model: mv.model.id,
    layers: mv.layers
      .filter((l) => l.units.length)
      .map((l) => ({
        name: l.layer.name,
        slug: l.layer.slug,
        units: Object.fromEntries(l.units.map((u) => [String(u.unit), unitThumb(u, mv.model)?.file ?? null])),
      })),
  };
  return new Response(JSON.stringify(index), { headers: { 'content-type': 'application/json' } });
};
