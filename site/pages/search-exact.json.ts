/** `/search-exact.json`: the search page's exact-match index (site/lib/exact-index.ts). */
import { getGallery } from '../lib/gallery.ts';
import { bestOptimized } from '../lib/format.ts';
import { buildExactIndex } from '../lib/exact-index.ts';

export async function GET(): Promise<Response> {
  const g = await getGallery();
  const layers = g.models.flatMap((mv) =>
    mv.layers
      .filter((l) => l.units.length)
      .map((l) => ({
        modelName: mv.model.name,
        modelId: mv.model.id,
        layerName: l.layer.name,
        slug: l.layer.slug,
        classLayer: l.layer.classLayer,
        units: l.units,
        thumb: (u: (typeof l.units)[number]) => bestOptimized(u)?.file ?? u.maxImages[0]?.patch,
      })),
  );
  return new Response(JSON.stringify(buildExactIndex(layers)), { headers: { 'Content-Type': 'application/json' } });
}
