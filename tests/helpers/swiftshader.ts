import { createRequire } from 'node:module';
import { SWIFTSHADER_ICDS } from '../../pipeline/engine/gpu-adapter.ts';
import { existsSync } from 'node:fs';

/**
 * WebGPU on SwiftShader (npm `webgpu` + the Vulkan driver in Debian's chromium package, which
 * .ci/run installs). Under CI a missing piece is an error; elsewhere the tests that need it are
 * skipped with the reason.
 */
export function requireSwiftshader(): { ok: boolean; skipReason?: string } {
  const missing: string[] = [];
  try {
    createRequire(import.meta.url).resolve('webgpu');
  } catch {
    missing.push('the npm package webgpu (npm install)');
  }
  if (!process.env.DEEPVIS_SWIFTSHADER_ICD && !SWIFTSHADER_ICDS.some((p) => existsSync(p)))
    missing.push(`SwiftShader's Vulkan driver (${SWIFTSHADER_ICDS[0]}: apt-get install chromium libvulkan1)`);
  if (missing.length === 0) return { ok: true };
  const why = `WebGPU on SwiftShader needs ${missing.join(' and ')}`;
  if (process.env.CI) throw new Error(why);
  return { ok: false, skipReason: `(skipped: ${why})` };
}
