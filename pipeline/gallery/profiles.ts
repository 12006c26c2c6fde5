import type { Model } from '../graph/types.ts';
import type { ProfileName } from './config.ts';

/**
 * What each `deepvis run` profile computes. Data, not code paths:
 * - quick: a CPU demo (≤ 10 minutes on 2 cores for GoogLeNet): a few units per layer, a sample of
 *   recognisable class units, one seed of the Fourier preset (it needs far fewer steps than the
 *   paper's pixel-space presets for recognisable images), max images and deconv for those units.
 * - paper: the paper's most used preset p3, 4 seeds, every unit of the chosen layers.
 * - full: every preset, 4 seeds, every unit.
 */
export interface Profile {
  presets: string[];
  seeds: number;
  /** Overrides the presets' step counts (undefined: the presets' own). */
  steps?: number;
  /** Units per hidden layer (undefined: all). */
  hiddenUnits?: number;
  /** Units of the class layer (undefined: all). */
  classUnits?: number;
}

export const PROFILE_TABLE: Record<ProfileName, Profile> = {
  quick: { presets: ['fourier'], seeds: 1, steps: 64, hiddenUnits: 2, classUnits: 8 },
  paper: { presets: ['p3'], seeds: 4 },
  full: { presets: ['p1', 'p2', 'p3', 'p4', 'none', 'fourier'], seeds: 4 },
};

/** Familiar ImageNet classes shown first in a quick gallery (indices into the 1000 ILSVRC classes). */
const FAMILIAR_IMAGENET = [281, 1, 130, 340, 947, 954, 417, 980, 107, 145, 292, 20, 309, 574, 817, 963];

/** The units a profile computes for one layer of `count` units. */
export function selectUnits(profile: Profile, model: Model, count: number, classLayer: boolean): number[] {
  const n = classLayer ? profile.classUnits : profile.hiddenUnits;
  if (n === undefined || n >= count) return Array.from({ length: count }, (_, i) => i);
  if (classLayer && count === 1000 && model.labels?.length === 1000) return FAMILIAR_IMAGENET.slice(0, n).sort((a, b) => a - b);
  // Evenly spread, deterministic: the centre unit of each of n equal slices.
  return Array.from({ length: n }, (_, i) => Math.floor(((i + 0.5) * count) / n));
}
