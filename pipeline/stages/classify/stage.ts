import { UserError } from '../../core/errors.ts';
import type { Model } from '../../graph/types.ts';
import { decodeImage } from '../../image/decode.ts';
import { Progress } from '../../core/progress.ts';
import type { ClassifyRunner as Runner } from './handler-table.ts';
import type { ClassifyArgs } from './handlers.ts';
import { labelOf, type Classification } from './output.ts';

/** The blob whose values are class scores, and whether softmax must still be applied. */
export function classBlob(model: Model): { blob: string; softmax: boolean } {
  const last = model.graph.layers[model.graph.layers.length - 1];
  const blob = last.tops[0];
  const info = model.graph.blobs.find((b) => b.name === blob);
  if (!info) throw new UserError(`model ${model.id}: output blob "${blob}" not found`);
  const spatial = info.shape.slice(1).reduce((a, b) => a * b, 1);
  if (spatial !== 1) throw new UserError(`model ${model.id}: the last blob "${blob}" is ${info.shape.join('×')}, not one score per class`);
  return { blob, softmax: last.kind !== 'softmax' };
}

export interface ClassifyOptions {
  files: string[];
  model: Model;
  runner: Runner;
  top: number;
  batch: number;
  /** Called once per image, in input order. */
  onResult(c: Classification): void;
  quiet?: boolean;
}

/**
 * Classifies `files` in batches: images are decoded (sharp, off the main thread) while earlier
 * batches run on the runner's workers; results are reported in input order. The first failure
 * (e.g. an unreadable image) stops the run and is thrown once the batches in flight have settled.
 */
export async function classifyFiles(opts: ClassifyOptions): Promise<void> {
  const { files, model, runner, top, batch } = opts;
  const { blob, softmax } = classBlob(model);
  const [h, w] = model.preprocess.size;
  const batches: string[][] = [];
  for (let i = 0; i < files.length; i += batch) batches.push(files.slice(i, i + batch));

  const progress = new Progress({ label: 'classify', total: files.length, rateUnit: 'img/s', quiet: opts.quiet });
  const done: (Classification[] | undefined)[] = new Array(batches.length);
  let next = 0; // next batch to report
  let failure: unknown;
  const flush = () => {
    while (next < batches.length && done[next]) {
      for (const c of done[next]!) opts.onResult(c);
      done[next] = undefined;
      next++;
    }
  };

  const runBatch = async (b: number): Promise<void> => {
    const names = batches[b];
    const images = await Promise.all(names.map((f) => decodeImage(f, model.preprocess)));
    if (failure) return;
    const data = new Float32Array(names.length * h * w * 3);
    images.forEach((img, i) => data.set(img.input, i * h * w * 3));
    const args: ClassifyArgs = { data, n: names.length, h, w, blob, softmax, top };
    const res = await runner.run('classifyBatch', args, [data.buffer]);
    done[b] = names.map((file, i) => ({
      file,
      top: Array.from({ length: res.k }, (_, j) => {
        const index = res.indices[i * res.k + j];
        return { index, label: labelOf(model.labels, index), prob: res.probs[i * res.k + j] };
      }),
    }));
    progress.tick(names.length);
    flush();
  };

  // Keep every worker busy with one batch queued behind it, decoding the next ones meanwhile.
  const maxInFlight = Math.max(2, runner.size * 2 + 1);
  const inFlight = new Set<Promise<void>>();
  for (let b = 0; b < batches.length && !failure; b++) {
    const p: Promise<void> = runBatch(b)
      .catch((e) => {
        failure ??= e;
      })
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= maxInFlight) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
  progress.finish(
    `classified ${files.length} image${files.length === 1 ? '' : 's'} in ${(progress.elapsedMs / 1000).toFixed(1)} s (${progress.rate.toFixed(1)} img/s)`,
  );
}
