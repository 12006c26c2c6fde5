/**
 * Builds the Pagefind search index over the built site (only unit pages carry
 * `data-pagefind-body`, so only they are indexed), through Pagefind's Node API (its binary ships
 * in the npm package; nothing is downloaded). The bundle lands in `<dist>/pagefind/`.
 */
import * as pagefind from 'pagefind';
import { join } from 'node:path';

export interface SearchIndexResult {
  pages: number;
}

/** `models`: the model ids, whose folders hold every indexed page (media/ is never walked). */
export async function buildSearchIndex(dist: string, models: string[]): Promise<SearchIndexResult> {
  const { index, errors } = await pagefind.createIndex({ forceLanguage: 'en' });
  if (!index) throw new Error(`pagefind: ${errors.join('; ')}`);
  try {
    // Only the model folders: images are being placed into media/ meanwhile (and are not pages).
    const glob = models.length === 1 ? `${models[0]}/**/*.html` : `{${models.join(',')}}/**/*.html`;
    const added = await index.addDirectory({ path: dist, glob });
    if (added.errors.length) throw new Error(`pagefind: ${added.errors.join('; ')}`);
    const written = await index.writeFiles({ outputPath: join(dist, 'pagefind') });
    if (written.errors.length) throw new Error(`pagefind: ${written.errors.join('; ')}`);
    return { pages: added.page_count };
  } finally {
    await pagefind.close();
  }
}
