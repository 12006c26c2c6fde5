// Types of scripts/build.mjs (plain JavaScript, so it runs before anything is compiled).
export function bundleGradients(outFile: string): Promise<void>;
export function ensureSourceGradients(): Promise<void>;
