#!/usr/bin/env node
// Runs a TypeScript script (scripts/*.ts) through tsx: `node bin/run-ts.mjs scripts/bench.ts args…`.
import { register } from 'tsx/esm/api';
import { ensureSourceGradients } from '../scripts/build.mjs';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
await ensureSourceGradients();
register();
const [script, ...rest] = process.argv.slice(2);
if (!script) {
  console.error('usage: run-ts.mjs SCRIPT.ts [args…]');
  process.exit(2);
}
process.argv = [process.argv[0], resolve(script), ...rest];
await import(pathToFileURL(resolve(script)).href);
