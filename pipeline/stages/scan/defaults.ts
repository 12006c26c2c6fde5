/** The scan stage's defaults (a light module: the CLI's help shows them without loading the stage). */
export const SCAN_DEFAULTS = { k: 9, mode: 'deconv', backend: 'auto', chunk: 256, weightsTag: 'file' } as const;
