/**
 * The gallery's URL scheme, in one place: the Astro pages, the link checker, the tests and the docs
 * all use these builders. Paths here never include the deploy base (`--base /prefix/`); pages add it
 * with `withBase`.
 *
 *   /                                        home: models, layers, example strips
 *   /search/?q=…                             search (Pagefind)
 *   /<model>/                                one model: its layers
 *   /<model>/classes/                        every class unit of the model on one page
 *   /<model>/<layer-slug>/                   layer, units by index, page 1
 *   /<model>/<layer-slug>/page/<n>/          layer, units by index, page n ≥ 2
 *   /<model>/<layer-slug>/by-class/          layer, units by top class, page 1 (…/by-class/page/<n>/)
 *   /<model>/<layer-slug>/by-max/, by-selectivity/, by-dead/   by the scan's statistics (scanned layers)
 *   /<model>/<layer-slug>/<unit>/            one unit
 *   /<model>/probe/                          live probe page (issue 8; "probe" is a reserved slug)
 *   /media/<path relative to the data root>  images, placed after the Astro build
 */

export { RESERVED_LAYER_SLUGS, RESERVED_MODEL_IDS, SAFE_SEGMENT } from '../content/ids.ts';

/** Units per layer page unless the build says otherwise (a 4,096-unit page would be ~485 KB). */
export const DEFAULT_PAGE_SIZE = 256;

/**
 * Orders of a layer listing: by unit index, by top class, and (for scanned layers) by the scan's
 * statistics — largest activation first, most selective first, most often dead first.
 */
export const LAYER_ORDERS = ['index', 'class', 'max', 'selectivity', 'dead'] as const;
export type LayerOrder = (typeof LAYER_ORDERS)[number];
/** The statistics orders (they need the scan's statistics). */
export const STATS_ORDERS: readonly LayerOrder[] = ['max', 'selectivity', 'dead'];
const ORDER_SEGMENT: Record<LayerOrder, string> = { index: '', class: 'by-class', max: 'by-max', selectivity: 'by-selectivity', dead: 'by-dead' };

export function homePath(): string {
  return '/';
}

export function searchPath(query?: string): string {
  return query ? `/search/?q=${encodeURIComponent(query)}` : '/search/';
}

/** The page that says what each evidence badge of a unit page means (`#ratio`, `#selectivity`, …). */
export function evidencePath(section?: string): string {
  return section ? `/evidence/#${section}` : '/evidence/';
}

export function modelPath(model: string): string {
  return `/${model}/`;
}

export function classesPath(model: string): string {
  return `/${model}/classes/`;
}

/** A layer listing page; `page` counts from 1. */
export function layerPath(model: string, slug: string, order: LayerOrder = 'index', page = 1): string {
  const root = order === 'index' ? `/${model}/${slug}/` : `/${model}/${slug}/${ORDER_SEGMENT[order]}/`;
  return page <= 1 ? root : `${root}page/${page}/`;
}

/** The rest parameter of the layer listing route (`[...page].astro`) for an order and page. */
export function layerRestParam(order: LayerOrder, page: number): string | undefined {
  const parts = [ORDER_SEGMENT[order], page > 1 ? `page/${page}` : ''].filter(Boolean);
  return parts.length ? parts.join('/') : undefined;
}

/** Inverse of layerRestParam; null when the rest does not name a layer listing. */
export function parseLayerRest(rest: string | undefined): { order: LayerOrder; page: number } | null {
  const m = /^(?:(by-[a-z]+)\/?)?(?:page\/(\d+)\/?)?$/.exec(rest ?? '');
  if (!m) return null;
  const order = m[1] ? LAYER_ORDERS.find((o) => ORDER_SEGMENT[o] === m[1]) : 'index';
  if (!order) return null;
  const page = m[2] ? Number(m[2]) : 1;
  if (m[2] && page < 2) return null;
  return { order, page };
}

export function unitPath(model: string, slug: string, unit: number): string {
  return `/${model}/${slug}/${unit}/`;
}

/** Where an image recorded as `rel` (relative to the data root) is served from. */
export function mediaPath(rel: string): string {
  return `/media/${rel.split('/').map(encodeURIComponent).join('/')}`;
}

/** Normalises a deploy base to `/` or `/prefix/` (leading and trailing slash). */
export function normalizeBase(base: string | undefined): string {
  const trimmed = (base ?? '/').trim().replace(/^\/+|\/+$/g, '');
  return trimmed ? `/${trimmed}/` : '/';
}

/** Prefixes a site path (which starts with `/`) with the deploy base. */
export function withBase(base: string, path: string): string {
  return normalizeBase(base).replace(/\/$/, '') + path;
}

/** Layer page (1-based) that lists the unit at position `position` (0-based) of an ordering. */
export function pageOf(position: number, pageSize: number): number {
  return Math.floor(position / pageSize) + 1;
}
