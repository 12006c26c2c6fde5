/**
 * The gallery's units as the probe sees them (`/<model>/probe/units.json`, written at build time by
 * site/pages/[model]/probe/units.json.ts): which units have a page, and their thumbnails.
 */
import { mediaPath, unitPath, withBase } from '../../pipeline/site/urls.ts';

export interface UnitsIndex {
  model: string;
  /** Gallery layers in model order: blob name, URL slug, units with a page → thumbnail (data-root path) or null. */
  layers: { name: string; slug: string; units: Record<string, string | null> }[];
}

export interface GalleryUnit {
  href: string;
  thumb?: string;
}

export class GalleryLinks {
  private readonly byBlob = new Map<string, UnitsIndex['layers'][number]>();

  constructor(
    readonly index: UnitsIndex,
    readonly base: string,
  ) {
    for (const l of index.layers) this.byBlob.set(l.name, l);
  }

  static async fetch(url: string, base: string, model: string): Promise<GalleryLinks> {
    try {
      const res = await fetch(url);
      if (res.ok) return new GalleryLinks((await res.json()) as UnitsIndex, base);
    } catch {
      // no gallery index: the probe still runs, without links
    }
    return new GalleryLinks({ model, layers: [] }, base);
  }

  /** Blob names that have gallery pages, in model order. */
  get blobs(): string[] {
    return this.index.layers.map((l) => l.name);
  }

  unit(blob: string, unit: number): GalleryUnit | undefined {
    const l = this.byBlob.get(blob);
    if (!l || !(String(unit) in l.units)) return undefined;
    const thumb = l.units[String(unit)];
    return {
      href: withBase(this.base, unitPath(this.index.model, l.slug, unit)),
      ...(thumb ? { thumb: withBase(this.base, mediaPath(thumb)) } : {}),
    };
  }
}
