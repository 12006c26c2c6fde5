/** The optimize stage's defaults (a light module: the CLI's help shows them without loading the stage). */
export const OPTIMIZE_DEFAULTS = {
  presets: ['p3'],
  seeds: [0, 1, 2, 3],
  objective: 'center',
  lrMode: 'calibrated',
  resume: true,
  backend: 'auto',
} as const;
