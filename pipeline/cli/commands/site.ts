/**
 * deepvis site build [--data DIR] [--out DIR] [--base /prefix/] [--page-size N]
 * deepvis site serve [--dist DIR] [--port N] [--base /prefix/]
 */
import { intFlag, parseCommandArgs } from '../parse.ts';
import { UserError } from '../../core/errors.ts';
import { formatDuration } from '../../core/progress.ts';
import { buildSite, isBuilt } from '../../site/build.ts';
import { resolveDataRoot } from '../../site/data.ts';
import { serveSite } from '../../site/serve.ts';
import { DEFAULT_PAGE_SIZE } from '../../site/urls.ts';

const HELP = `usage:
  deepvis site build [--data DIR] [--out DIR] [--base /prefix/] [--page-size N]
  deepvis site serve [--dist DIR] [--port N] [--base /prefix/]

build   the static gallery from the pipeline's content: Astro pages, Pagefind search index,
        images linked into <out>/media/. Host <out> on any static server or CDN.
  --data DIR       data root (default $DEEPVIS_DATA or data/)
  --out DIR        output folder (default dist/); replaced only once the new build is ready
  --base /prefix/  the sub-path the site will be served under (default /)
  --page-size N    units per layer page (default ${DEFAULT_PAGE_SIZE})

serve   preview a built site on http://127.0.0.1:PORT/<base>
  --dist DIR       the built site (default dist/)
  --port N         port (default 4321; 0 picks a free one)
  --base /prefix/  must match the base the site was built with (default /)`;

export async function run(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'build') return build(rest);
  if (sub === 'serve') return serve(rest);
  if (!sub || sub === '--help' || sub === '-h') {
    console.log(HELP);
    return;
  }
  throw new UserError(`unknown subcommand "${sub}" (expected build or serve)`);
}

async function build(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { data: { type: 'string' }, out: { type: 'string' }, base: { type: 'string' }, 'page-size': { type: 'string' } },
    HELP,
  );
  if (positionals.length) throw new UserError(`unexpected argument "${positionals[0]}"`);
  if (values.base !== undefined && !values.base.startsWith('/')) throw new UserError(`--base must start with "/", got "${values.base}"`);
  const report = await buildSite({
    data: resolveDataRoot(values.data),
    out: values.out ?? 'dist',
    base: values.base,
    pageSize: intFlag(values['page-size'], 'page-size', DEFAULT_PAGE_SIZE, 1),
  });
  const ms = report.ms;
  console.log(
    `built ${report.pages} pages (${report.units} units, ${report.searchPages} searchable) into ${report.out} ` +
      `in ${formatDuration(ms.total)}: astro ${formatDuration(ms.astro)}, pagefind ${formatDuration(ms.pagefind)}, images ${formatDuration(ms.place)}` +
      (report.base !== '/' ? ` — serve it under ${report.base}` : ''),
  );
}

async function serve(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { dist: { type: 'string' }, port: { type: 'string' }, base: { type: 'string' } },
    HELP,
  );
  if (positionals.length) throw new UserError(`unexpected argument "${positionals[0]}"`);
  const dist = values.dist ?? 'dist';
  if (!(await isBuilt(dist))) throw new UserError(`${dist} is not a built site (run \`deepvis site build\` first)`);
  const port = intFlag(values.port, 'port', 4321, 0);
  const { url } = await serveSite({ dist, port, base: values.base }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'EADDRINUSE') throw new UserError(`port ${port} is in use (try --port 0)`);
    throw e;
  });
  console.log(`serving ${dist} at ${url} (Ctrl-C to stop)`);
  await new Promise(() => {});
}
