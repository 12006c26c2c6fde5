import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Temporary model folders for tests; `cleanup()` removes them all (call it in afterAll). */
export function tempModels() {
  const made: string[] = [];
  return {
    dir(files: Record<string, string | Uint8Array>): string {
      const dir = mkdtempSync(join(tmpdir(), 'deepvis-model-'));
      made.push(dir);
      for (const [k, v] of Object.entries(files)) writeFileSync(join(dir, k), v);
      return dir;
    },
    cleanup(): void {
      for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  };
}
