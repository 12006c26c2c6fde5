/**
 * Which WebGPU adapter `--backend webgpu` may use. By default a real GPU: an adapter that is a CPU
 * rasteriser (SwiftShader) is refused, so a run never looks like a GPU run while it crawls on the
 * CPU. `--gpu-adapter swiftshader` (DEEPVIS_GPU_ADAPTER=swiftshader) asks for SwiftShader
 * on purpose — the Vulkan driver inside Debian's `chromium` package, which Dawn accepts — for
 * tests and for trying the WebGPU path on a machine without a GPU.
 *
 * The Vulkan loader reads VK_ICD_FILENAMES from the process environment when Dawn creates its
 * instance: `useGpuAdapter` sets it, in the main thread, before any WebGPU instance or worker starts
 * (a worker's process.env is its own copy; the real environment is what the loader sees).
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { UserError } from '../core/errors.ts';

export const GPU_ADAPTERS = ['gpu', 'swiftshader'] as const;
export type GpuAdapter = (typeof GPU_ADAPTERS)[number];

/** Where Debian's chromium package puts SwiftShader's Vulkan ICD manifest. */
export const SWIFTSHADER_ICDS = ['/usr/lib/chromium/vk_swiftshader_icd.json'];

/** The adapter asked for (DEEPVIS_GPU_ADAPTER; the CLI's --gpu-adapter sets it). */
export function gpuAdapter(): GpuAdapter {
  const v = process.env.DEEPVIS_GPU_ADAPTER || 'gpu';
  if (!(GPU_ADAPTERS as readonly string[]).includes(v)) throw new UserError(`--gpu-adapter must be one of ${GPU_ADAPTERS.join(', ')}, got "${v}"`);
  return v as GpuAdapter;
}

/** SwiftShader's ICD manifest: DEEPVIS_SWIFTSHADER_ICD, else the first of SWIFTSHADER_ICDS present. */
export function swiftshaderIcd(): string {
  const own = process.env.DEEPVIS_SWIFTSHADER_ICD;
  if (own) {
    if (!existsSync(own)) throw new UserError(`DEEPVIS_SWIFTSHADER_ICD: no file ${own}`);
    return own;
  }
  const found = SWIFTSHADER_ICDS.find((p) => existsSync(p));
  if (!found)
    throw new UserError(
      `--gpu-adapter swiftshader: SwiftShader's Vulkan driver is not installed (Debian: apt-get install chromium libvulkan1; or set DEEPVIS_SWIFTSHADER_ICD to a vk_swiftshader_icd.json)`,
    );
  return found;
}

/**
 * Sets `adapter` up for this process and its workers: DEEPVIS_GPU_ADAPTER, and for SwiftShader
 * the Vulkan loader's ICD list (and XDG_RUNTIME_DIR, which Dawn wants set). Call it in the main
 * thread before the first WebGPU instance.
 */
export function useGpuAdapter(adapter: GpuAdapter): void {
  process.env.DEEPVIS_GPU_ADAPTER = adapter;
  if (adapter !== 'swiftshader') return;
  process.env.VK_ICD_FILENAMES = swiftshaderIcd();
  process.env.XDG_RUNTIME_DIR ||= tmpdir();
}

/** What Dawn says of an adapter (GPUAdapter.info). */
export interface AdapterInfo {
  vendor?: string;
  architecture?: string;
  description?: string;
}

const isSwiftshader = (info: AdapterInfo | undefined) => /swiftshader/i.test(`${info?.architecture ?? ''} ${info?.description ?? ''}`);

/** A one-line refusal when the adapter found is not the kind asked for; undefined when it is. */
export function adapterMismatch(asked: GpuAdapter, info: AdapterInfo | undefined): string | undefined {
  const soft = isSwiftshader(info);
  const name = [info?.vendor, info?.architecture, info?.description].filter(Boolean).join(' / ') || 'unknown adapter';
  if (asked === 'gpu' && soft) return `backend webgpu: the only adapter is ${name}, a CPU rasteriser, not a GPU (--gpu-adapter swiftshader uses it anyway)`;
  if (asked === 'swiftshader' && !soft) return `backend webgpu: --gpu-adapter swiftshader, but the adapter found is ${name}`;
  return undefined;
}
