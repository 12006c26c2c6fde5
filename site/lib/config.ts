/** Build-time settings of the site and the base-aware link helper. */
import { DEFAULT_PAGE_SIZE, mediaPath, withBase } from '../../pipeline/site/urls.ts';

/** The deploy base (`/` or `/prefix/`), from astro.config.mjs. */
export const BASE: string = import.meta.env.BASE_URL;

/** A site path (see pipeline/site/urls.ts) with the deploy base in front. */
export function url(path: string): string {
  return withBase(BASE, path);
}

/** The URL of an image recorded relative to the data root. */
export function media(rel: string): string {
  return url(mediaPath(rel));
}

function pageSize(): number {
  const v = process.env.DEEPVIS_PAGE_SIZE;
  if (!v) return DEFAULT_PAGE_SIZE;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`DEEPVIS_PAGE_SIZE must be a positive integer, got "${v}"`);
  return n;
}

/** Units per layer page. */
export const PAGE_SIZE = pageSize();
