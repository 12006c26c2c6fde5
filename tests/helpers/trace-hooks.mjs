// Module resolve hook for tests: appends every resolved specifier to $DEEPVIS_TRACE_IMPORTS.
import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  if (process.env.DEEPVIS_TRACE_IMPORTS) appendFileSync(process.env.DEEPVIS_TRACE_IMPORTS, `${specifier}\n`);
  return next(specifier, context);
}
