/**
 * Where the probe lives in the built site (paths without the deploy base; add it with
 * pipeline/site/urls.ts `withBase`):
 *   /<model>/probe/                 the probe page
 *   /<model>/probe/units.json       gallery units of the model with their thumbnails (for the probe)
 *   /<model>/probe/net/model.json   the exported network (pipeline/site/export/format.ts) + shards
 */
export function probePath(model: string): string {
  return `/${model}/probe/`;
}

export function probeUnitsPath(model: string): string {
  return `/${model}/probe/units.json`;
}

export function probeNetPath(model: string): string {
  return `/${model}/probe/net/model.json`;
}

/** Folder of the exported network inside the built site (relative to its root). */
export function probeNetDir(model: string): string {
  return `${model}/probe/net`;
}
