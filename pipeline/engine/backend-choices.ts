import { UserError } from '../core/errors.ts';

/** The compute backends a user can name with `--backend` (no backend code: the CLI table reads this). */
export type BackendChoice = 'auto' | 'onnxruntime' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export const BACKEND_CHOICES: readonly BackendChoice[] = ['auto', 'onnxruntime', 'tensorflow', 'webgpu', 'wasm', 'cpu'];

/** Parses a `--backend` flag value. */
export function parseBackend(value: string | undefined): BackendChoice {
  const v = (value ?? 'auto') as BackendChoice;
  if (!BACKEND_CHOICES.includes(v)) throw new UserError(`--backend must be one of ${BACKEND_CHOICES.join(', ')}, got "${value}"`);
  return v;
}
