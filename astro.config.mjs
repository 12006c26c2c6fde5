// The gallery site. `deepvis site build` runs `astro build` with these environment variables:
//   DEEPVIS_DATA       data root (default data/) — read by site/content.config.ts
//   DEEPVIS_BASE       deploy base, e.g. /prefix/ (default /)
//   DEEPVIS_CACHE_DIR  Astro's cache (content store) — one per output folder, so builds never share it
//   DEEPVIS_VITE_CACHE_DIR  Vite's dependency cache (default node_modules/.vite), likewise
//   DEEPVIS_PAGE_SIZE  units per layer page (default 256) — read by site/lib/config.ts
// Images are not in public/: the build command links them into dist/media/ afterwards.
import { defineConfig } from 'astro/config';

export default defineConfig({
  srcDir: './site',
  publicDir: './site/public',
  output: 'static',
  outDir: process.env.DEEPVIS_OUT || './dist',
  base: process.env.DEEPVIS_BASE || '/',
  trailingSlash: 'always',
  cacheDir: process.env.DEEPVIS_CACHE_DIR || './.cache/astro',
  // concurrency 4: page renders overlap their file writes (32 s vs 52 s for 10,568 pages here).
  build: { format: 'directory', inlineStylesheets: 'never', concurrency: 4 },
  compressHTML: true,
  devToolbar: { enabled: false },
  scopedStyleStrategy: 'class',
  vite: { logLevel: 'warn', build: { assetsInlineLimit: 0 }, ...(process.env.DEEPVIS_VITE_CACHE_DIR ? { cacheDir: process.env.DEEPVIS_VITE_CACHE_DIR } : {}) },
});
