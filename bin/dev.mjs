#!/usr/bin/env node
// Runs the CLI from the TypeScript sources through tsx (no build needed): the npm scripts and the
// tests use this in a checkout. The published command, bin/deepvis.mjs, runs the compiled lib/.
import { register } from 'tsx/esm/api';
import { ensureSourceGradients } from '../scripts/build.mjs';
await ensureSourceGradients();
register();
const { main } = await import('../pipeline/cli/main.ts');
await main(process.argv.slice(2));
