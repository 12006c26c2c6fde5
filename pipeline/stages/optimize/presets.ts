/**
 * Optimisation presets as data. `p1`–`p4` are the rows of Table 1 of Yosinski et al. (2015) with
 * the toolbox's learning-rate policies; `none` is unregularized ascent (the "fooling images"
 * baseline); `fourier` is the Lucid-style alternative (Fourier-space image with 1/f scaling,
 * decorrelated colour, transformation robustness, Adam).
 *
 * Learning rates are the paper's literal numbers. Unless `--literal-lr` is given they are applied
 * to the gradient rescaled to a reference magnitude (see calibrate.ts), so one preset works on
 * every model and layer.
 */

/** `progress`: lr = min(maxLr, desired / ‖g‖²), i.e. the first-order activation gain per step is `desired`. */
export type LrPolicy = { kind: 'constant'; lr: number } | { kind: 'progress'; maxLr: number; desired: number };

/** Gradient ascent on the pixels with the paper's four priors. */
export interface PixelPreset {
  family: 'pixel';
  name: string;
  description: string;
  /** L2 decay: x *= (1 - decay) every step. */
  decay: number;
  /** Gaussian blur sigma (pixels) applied every `blurEvery` steps; 0 = never. */
  blurRadius: number;
  blurEvery: number;
  /** Zero the pixels whose colour-vector norm is below this percentile (0 = off). */
  normPct: number;
  /** Zero the pixels whose |Σ_c x·g| is below this percentile (0 = off). */
  contribPct: number;
  lr: LrPolicy;
  steps: number;
}

/** Lucid-style: Fourier parameterisation, decorrelated colour, random transforms, Adam. */
export interface FourierPreset {
  family: 'fourier';
  name: string;
  description: string;
  steps: number;
  /** Adam step size on the spectrum coefficients. */
  lr: number;
  /** Spectrum scaling 1 / f^decayPower. */
  decayPower: number;
  /** Standard deviation of the initial spectrum coefficients. */
  initStd: number;
  /** Random transforms drawn every step: jitters (Lucid: 8 then 4 px), scales, rotations (degrees). */
  jitters: number[];
  scales: number[];
  angles: number[];
  /** Evaluate the untransformed image every this many steps (and at the end) to keep the best. */
  evalEvery: number;
}

export type OptimizePreset = PixelPreset | FourierPreset;

const progress = (maxLr: number, desired: number): LrPolicy => ({ kind: 'progress', maxLr, desired });
const constant = (lr: number): LrPolicy => ({ kind: 'constant', lr });

export const OPTIMIZE_PRESETS: Record<string, OptimizePreset> = {
  p1: {
    family: 'pixel',
    name: 'p1',
    description: 'paper row 1: blur 0.5/4, norm clip 50 %',
    decay: 0,
    blurRadius: 0.5,
    blurEvery: 4,
    normPct: 50,
    contribPct: 0,
    lr: progress(100, 2.0),
    steps: 500,
  },
  p2: {
    family: 'pixel',
    name: 'p2',
    description: 'paper row 2: strong L2 decay 0.3, norm clip 20 %',
    decay: 0.3,
    blurRadius: 0,
    blurEvery: 0,
    normPct: 20,
    contribPct: 0,
    lr: constant(100),
    steps: 750,
  },
  p3: {
    family: 'pixel',
    name: 'p3',
    description: 'paper row 3: decay 1e-4, blur 1.0/4 (the paper’s most used)',
    decay: 0.0001,
    blurRadius: 1.0,
    blurEvery: 4,
    normPct: 0,
    contribPct: 0,
    lr: constant(100),
    steps: 1000,
  },
  p4: {
    family: 'pixel',
    name: 'p4',
    description: 'paper row 4: blur 0.5/4, contribution clip 90 %',
    decay: 0,
    blurRadius: 0.5,
    blurEvery: 4,
    normPct: 0,
    contribPct: 90,
    lr: progress(1e8, 2.0),
    steps: 1000,
  },
  none: {
    family: 'pixel',
    name: 'none',
    description: 'unregularized ascent (fooling images)',
    decay: 0,
    blurRadius: 0,
    blurEvery: 0,
    normPct: 0,
    contribPct: 0,
    lr: constant(100),
    steps: 200,
  },
  fourier: {
    family: 'fourier',
    name: 'fourier',
    description: 'Fourier 1/f + decorrelated colour + jitter/scale/rotate, Adam',
    steps: 256,
    lr: 0.05,
    decayPower: 1,
    initStd: 0.01,
    jitters: [8, 4],
    scales: [0.9, 0.92, 0.94, 0.96, 0.98, 1, 1.02, 1.04, 1.06, 1.08, 1.1],
    angles: [...Array.from({ length: 21 }, (_, i) => i - 10), 0, 0, 0, 0, 0],
    evalEvery: 16,
  },
};

export const OPTIMIZE_PRESET_NAMES = Object.keys(OPTIMIZE_PRESETS);
