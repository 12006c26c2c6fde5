/**
 * Builds the Pagefind search index over the unit pages (only they carry `data-pagefind-body`),
 * through Pagefind's Node API (its binary ships in the npm package; nothing is downloaded).
 * Pages are added as Astro writes them (`addPage`, from the build's progress lines), so the
 * indexing runs beside the page rendering on another core; `finish` adds any unit page not added
 * yet and writes the bundle into `<dist>/pagefind/`.
 */
import * as pagefind from 'pagefind';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

export interface SearchIndexResult {
  pages: number;
}

type Index = NonNullable<Awaited<ReturnType<typeof pagefind.createIndex>>['index']>;

/** Unit pages of a built site: `<model>/<layer>/<unit>/index.html`, relative to the site root. */
async function unitPages(dist: string, models: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const m of models) {
    for (const layer of await readdir(join(dist, m), { withFileTypes: true }).catch(() => [])) {
      if (!layer.isDirectory()) continue;
      for (const unit of await readdir(join(dist, m, layer.name)).catch(() => [] as string[]))
        if (/^\d+$/.test(unit)) out.push(`${m}/${layer.name}/${unit}/index.html`);
    }
  }
  return out;
}

export class SearchIndexer {
  private readonly added = new Set<string>();
  private queue: Promise<void> = Promise.resolve();
  private failure: unknown;

  private constructor(private readonly index: Index) {}

  static async start(): Promise<SearchIndexer> {
    const { index, errors } = await pagefind.createIndex({ forceLanguage: 'en' });
    if (!index) throw new Error(`pagefind: ${errors.join('; ')}`);
    return new SearchIndexer(index);
  }

  private add(root: string, rel: string): void {
    this.added.add(rel);
    this.queue = this.queue.then(() =>
      this.failure
        ? undefined
        : this.indexFile(root, rel).catch((e: unknown) => {
            this.failure ??= e;
          }),
    );
  }

  private async indexFile(root: string, rel: string): Promise<void> {
    let content: string;
    try {
      content = await readFile(join(root, rel), 'utf8');
    } catch (e) {
      // not there (a progress line read wrong): `finish` adds whatever the site really has
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return void this.added.delete(rel);
      throw e;
    }
    const r = await this.index.addHTMLFile({ sourcePath: rel, content });
    if (r.errors.length) throw new Error(`pagefind: ${rel}: ${r.errors.join('; ')}`);
  }

  /** A unit page just written under `root` (absolute path), indexed in the background. */
  addPage(root: string, file: string): void {
    const rel = relative(root, file).split('\\').join('/');
    if (!this.added.has(rel)) this.add(root, rel);
  }

  /** Indexes the unit pages of the models not added yet, then writes the bundle. */
  async finish(dist: string, models: string[]): Promise<SearchIndexResult> {
    for (const rel of await unitPages(dist, models)) if (!this.added.has(rel)) this.add(dist, rel);
    await this.queue;
    if (this.failure) throw this.failure;
    const written = await this.index.writeFiles({ outputPath: join(dist, 'pagefind') });
    if (written.errors.length) throw new Error(`pagefind: ${written.errors.join('; ')}`);
    return { pages: this.added.size };
  }

  async close(): Promise<void> {
    await this.queue.catch(() => {});
    await pagefind.close();
  }
}
