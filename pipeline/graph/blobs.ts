import { UserError } from '../core/errors.ts';
import type { BlobInfo, Model } from './types.ts';

/** A blob of the model by name; a name it does not have is a UserError that says where to look. */
export function findBlob(model: Model, name: string): BlobInfo {
  const info = model.graph.blobs.find((b) => b.name === name);
  if (!info) throw new UserError(`model ${model.id} has no blob "${name}" (see \`deepvis inspect --model ${model.source}\`)`);
  return info;
}

/** A layer to optimise: a blob that is not the input, with its units (default: all of them). */
export function layerUnits(model: Model, name: string, units?: number[]): { name: string; units: number[] } {
  const info = findBlob(model, name);
  if (name === model.graph.input.blob) throw new UserError(`"${name}" is the input blob; pick a layer`);
  const count = info.shape[0];
  for (const u of units ?? []) if (!Number.isInteger(u) || u < 0 || u >= count) throw new UserError(`${name} has units 0–${count - 1}, not ${u}`);
  return { name, units: units ?? Array.from({ length: count }, (_, i) => i) };
}
