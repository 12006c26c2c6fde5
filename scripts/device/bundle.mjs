#!/usr/bin/env node
/**
 * Bundles scripts/device/bench-gpu.ts into one ES module for the GPU machine (`node bundle.mjs OUT`).
 * Packages with native parts stay outside (scripts/device/run.sh copies webgpu and sharp beside
 * it); the optional engines that are not carried (ONNX Runtime, tfjs-node) stay outside and are
 * simply absent there.
 */
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const out = process.argv[2];
if (!out) {
  console.error('usage: node scripts/device/bundle.mjs OUT.mjs');
  process.exit(2);
}
await build({
  entryPoints: [fileURLToPath(new URL('./bench-gpu.ts', import.meta.url))],
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outfile: out,
  external: ['webgpu', 'sharp', 'onnxruntime-node', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu'],
  // CommonJS dependencies inside an ES module bundle call require(): give them one.
  banner: { js: "import { createRequire as __deepvisRequire } from 'node:module'; const require = __deepvisRequire(import.meta.url);" },
  logLevel: 'warning',
});
