// The TypeScript sources load TensorFlow.js's gradients from a bundle scripts/build.mjs makes
// (pipeline/engine/vendor/, git-ignored): make it once before the tests when it is missing or stale.
import { ensureSourceGradients } from '../../scripts/build.mjs';

export default async function setup(): Promise<void> {
  await ensureSourceGradients();
}
