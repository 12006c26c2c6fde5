import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { mulberry32 } from '../../pipeline/core/random.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `deepvis ARGS…` (bin/dev.mjs, the sources) in a child process from the repository root. */
export function runCli(args: string[], env: Record<string, string | undefined> = {}, timeoutMs = 600_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['bin/dev.mjs', ...args], {
      cwd: ROOT,
      env: { ...process.env, DEEPVIS_QUIET: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** `deepvis ARGS…` as runCli, its stdout; a non-zero exit is an error carrying stderr. */
export async function runCliOk(args: string[], env: Record<string, string | undefined> = {}): Promise<string> {
  const r = await runCli(args, env);
  if (r.code !== 0) throw new Error(`deepvis ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}

/** mulberry32: small seeded RNG. */
export const seededRandom = mulberry32;

/** Standard normal samples from a uniform source (Box–Muller). */
export function gaussian(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
}
