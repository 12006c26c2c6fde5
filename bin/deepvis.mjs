#!/usr/bin/env node
// The deepvis command: runs the compiled CLI in lib/ (`npm run build`; npm pack builds it).
// In a checkout, `npm run deepvis -- …` runs the sources instead (bin/dev.mjs).
let cli;
try {
  cli = await import('../lib/cli/main.js');
} catch (e) {
  if (e?.code !== 'ERR_MODULE_NOT_FOUND' || !String(e.message).includes('lib/cli/main.js')) throw e;
  console.error('deepvis: not built (lib/ is missing): run `npm run build`, or `npm run deepvis -- …` to run the sources');
  process.exit(2);
}
await cli.main(process.argv.slice(2));
