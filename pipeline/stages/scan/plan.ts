import { createHash } from 'node:crypto';
import { dirname, relative, resolve, sep } from 'node:path';
import type { BlobInfo, Model } from '../../graph/types.ts';
import { UserError } from '../../core/errors.ts';
import { findClassBlobs, findProbBlob } from '../../graph/classes.ts';
import { isSpatial } from './patches.ts';

/**
 * What a scan tracks, decided once from the model and the arguments: the tracked blobs, the class
 * probability blob (top of the last Softmax) for the correlations, the class blobs (whose units
 * ARE the classes, so labels apply by unit index and correlations are skipped), the image list and
 * its root, and the key that identifies the scan's checkpoint.
 */
export interface ScanPlan {
  modelId: string;
  blobs: BlobInfo[];
  probBlob: string | null;
  /** Channels of the probability blob (0 without one). */
  classCount: number;
  classBlobs: Set<string>;
  /** Tracked blobs whose units get class correlations. */
  corrBlobs: BlobInfo[];
  /** Absolute image paths, in scan order (the image index). */
  files: string[];
  /** Common folder of the images; records name images relative to it. */
  root: string;
  rel: string[];
  k: number;
  key: string;
}

export function commonRoot(files: string[]): string {
  if (files.length === 0) return process.cwd();
  let root = dirname(resolve(files[0]));
  for (const f of files) {
    const abs = resolve(f);
    while (!abs.startsWith(root.endsWith(sep) ? root : root + sep)) {
      const up = dirname(root);
      if (up === root) return root;
      root = up;
    }
  }
  return root;
}

export function makePlan(model: Model, layers: string[], files: string[], k: number, weightsTag: string): ScanPlan {
  const byName = new Map(model.graph.blobs.map((b) => [b.name, b]));
  if (layers.length === 0) throw new UserError('--layers: name at least one blob (see `deepvis inspect`)');
  const blobs = layers.map((l) => {
    const b = byName.get(l);
    if (!b) throw new UserError(`--layers: model ${model.id} has no blob "${l}" (see \`deepvis inspect --model ${model.source}\`)`);
    if (b.name === model.graph.input.blob) throw new UserError(`--layers: "${l}" is the input blob, not a layer`);
    if (!isSpatial(b) && b.shape.length !== 1) throw new UserError(`--layers: blob "${l}" has an unsupported shape [${b.shape}]`);
    return b;
  });
  const probBlob = findProbBlob(model);
  const classBlobs = findClassBlobs(model);
  const classCount = probBlob ? byName.get(probBlob)!.shape[0] : 0;
  const corrBlobs = probBlob ? blobs.filter((b) => !classBlobs.has(b.name) && b.name !== probBlob) : [];
  const abs = files.map((f) => resolve(f));
  const root = commonRoot(abs);
  const rel = abs.map((f) => relative(root, f).split(sep).join('/'));
  const key = createHash('sha256')
    .update(JSON.stringify({ v: 1, model: model.id, source: model.source, weightsTag, layers, k, root, rel, preprocess: model.preprocess }))
    .digest('hex')
    .slice(0, 16);
  return { modelId: model.id, blobs, probBlob, classCount, classBlobs, corrBlobs, files: abs, root, rel, k, key };
}
