// Worker-thread entry of the net pool (pipeline/engine/workers/pool.ts): registers tsx's ESM loader in
// this thread, like bin/deepvis.mjs, then runs the TypeScript worker.
import { register } from 'tsx/esm/api';
register();
await import('../pipeline/engine/workers/worker.ts');
