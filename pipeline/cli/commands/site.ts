/** `deepvis site build` and `deepvis site serve` (options: pipeline/cli/options.ts). */
import type { ParsedCommand } from '../options.ts';
import { UserError } from '../../core/errors.ts';
import { formatDuration } from '../../core/progress.ts';
import { buildSite, isBuilt } from '../../site/build.ts';
import { resolveDataRoot } from '../../site/data.ts';
import { serveSite } from '../../site/serve.ts';
import { DEFAULT_PAGE_SIZE } from '../../site/urls.ts';

export async function build({ values }: ParsedCommand<'site build'>): Promise<void> {
  if (values.base !== undefined && !values.base.startsWith('/')) throw new UserError(`--base must start with "/", got "${values.base}"`);
  const report = await buildSite({
    data: resolveDataRoot(values.data),
    out: values.dist ?? 'dist',
    base: values.base,
    pageSize: values['page-size'] ?? DEFAULT_PAGE_SIZE,
    quiet: Boolean(process.env.DEEPVIS_QUIET),
  });
  const ms = report.ms;
  if (values.json) return void console.log(JSON.stringify(report));
  console.log(
    `built ${report.pages} pages (${report.units} units, ${report.searchPages} searchable) into ${report.out} ` +
      `in ${formatDuration(ms.total)}: astro ${formatDuration(ms.astro)}, pagefind ${formatDuration(ms.pagefind)}, images ${formatDuration(ms.place)}` +
      (report.base !== '/' ? ` — serve it under ${report.base}` : ''),
  );
}

export async function serve({ values }: ParsedCommand<'site serve'>): Promise<void> {
  const dist = values.dist ?? 'dist';
  if (!(await isBuilt(dist))) throw new UserError(`${dist} is not a built site (run \`deepvis site build\` first)`);
  const port = values.port ?? 4321;
  const { url } = await serveSite({ dist, port, base: values.base }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new UserError(`port ${port} is in use (try --port 0)`);
    throw e;
  });
  console.log(`serving ${dist} at ${url} (Ctrl-C to stop)`);
  await new Promise(() => {});
}
