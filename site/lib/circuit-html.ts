/**
 * A unit page's circuit lists as one HTML string: at 10k pages, 18 thumbnail cells per page as
 * Astro components cost more than the rest of the page; the same markup as UnitCell, escaped.
 */
import type { ModelRecord } from '../../pipeline/content/types.ts';
import type { SiteLinks, SiteUnit } from '../../pipeline/site/snapshot.ts';
import { unitPath } from '../../pipeline/site/urls.ts';
import { media, url } from './config.ts';
import { circuitMethod } from './evidence.ts';
import { unitThumb } from './format.ts';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESC[c]);

const pct = (share: number) => `${(share * 100).toFixed(share >= 0.1 ? 0 : 1)} %`;

/** One unit as a circuit cell: its thumbnail linking to its page, or its number when the gallery lacks it. */
function cell(target: SiteUnit | undefined, unit: number, model: ModelRecord): string {
  if (!target) return `<span class="cell"><span class="none">not in the gallery</span><b>${unit}</b></span>`;
  const t = unitThumb(target, model);
  const img = t
    ? `<img src="${escapeHtml(media(t.file))}" width="${t.width}" height="${t.height}" alt="${t.file.includes('/opt-') ? 'optimised image' : 'top image patch'}"${t.pixelated ? ' class="px"' : ''} loading="lazy" decoding="async">`
    : '<span class="none">no images yet</span>';
  return `<a class="cell" href="${escapeHtml(url(unitPath(model.id, target.layerSlug, target.unit)))}">${img}<b>${unit}</b></a>`;
}

/** A titled list: `<h3>` with the layer and method, then the cells with their shares. */
export function circuitListHtml(title: string, list: SiteLinks, model: ModelRecord, find: (layer: string, unit: number) => SiteUnit | undefined): string {
  const head = `<h3>${escapeHtml(title)} <span class="muted">${escapeHtml(list.layer)} · ${circuitMethod(list.method)}</span></h3>`;
  if (list.links.length === 0) return `${head}<p class="muted">None: nothing there feeds it positively on its top images.</p>`;
  const items = list.links
    .map(
      ([unit, share]) =>
        `<li data-unit="${unit}" data-share="${share}">${cell(find(list.layer, unit), unit, model)}<span class="share">${pct(share)}</span></li>`,
    )
    .join('');
  return `${head}<ul class="grid strip circuit-links">${items}</ul>`;
}

/** Every list of a unit's circuit: strongest inputs, the branch's inputs, then the later units it feeds most. */
export function circuitHtml(u: SiteUnit, model: ModelRecord, find: (layer: string, unit: number) => SiteUnit | undefined): string {
  const c = u.circuit;
  if (!c) return '';
  const parts: string[] = [];
  if (c.up) parts.push(circuitListHtml('Strongest inputs', c.up, model, find));
  if (c.branch) parts.push(circuitListHtml('Through its branch', c.branch, model, find));
  for (const d of c.down ?? []) parts.push(circuitListHtml('Feeds most', d, model, find));
  return parts.join('');
}
