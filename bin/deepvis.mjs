#!/usr/bin/env node
// Launcher: runs the TypeScript CLI through tsx's ESM loader (no build step needed).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../pipeline/cli/main.ts');
await main(process.argv.slice(2));
