/**
 * Measurement helpers for the optimisation checks and bench: unit maxima over a photo set, and
 * re-evaluation of saved images (the WebP as written, decoded back to 8 bits) by the same or
 * another network.
 */
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { decodeImage, rgbToInput } from '../../pipeline/image/decode.ts';
import type { Model } from '../../pipeline/graph/types.ts';
import type { Net } from '../../pipeline/engine/net/types.ts';
import { centre } from '../../pipeline/stages/optimize/objectives.ts';

export interface BlobMaxima {
  /** Per channel: max over photos of the max over positions (fc: the value). */
  max: number[];
  /** Per channel: max over photos of the value at the centre position. */
  centreMax: number[];
}

/** Maxima of every channel of `blobs` over `files`, cached in `cacheFile` (JSON). */
export async function photoMaxima(
  net: Net,
  model: Model,
  blobs: string[],
  files: string[],
  cacheFile: string,
  log = (s: string) => process.stderr.write(s),
): Promise<Record<string, BlobMaxima>> {
  const cached = JSON.parse(await readFile(cacheFile, 'utf8').catch(() => '{}')) as Record<string, BlobMaxima & { n: number }>;
  const need = blobs.filter((b) => !cached[b] || cached[b].n !== files.length);
  if (need.length) {
    const acc: Record<string, BlobMaxima> = {};
    for (const b of need) {
      const c = model.graph.blobs.find((x) => x.name === b)!.shape[0];
      acc[b] = { max: new Array(c).fill(-Infinity), centreMax: new Array(c).fill(-Infinity) };
    }
    const B = 8;
    for (let i = 0; i < files.length; i += B) {
      const imgs = await Promise.all(files.slice(i, i + B).map((f) => decodeImage(f, model.preprocess)));
      const [h, w] = model.preprocess.size;
      const data = new Float32Array(imgs.length * h * w * 3);
      imgs.forEach((im, k) => data.set(im.input, k * h * w * 3));
      const reduced = tf.tidy(() => {
        const outs = net.forward(tf.tensor4d(data, [imgs.length, h, w, 3]), need);
        return need.map((b) => {
          const o = outs[b];
          if (o.rank === 2) return [o, o];
          const [n, hh, ww, c] = o.shape as number[];
          const [cy, cx] = centre(hh, ww);
          return [tf.max(o, [1, 2]), tf.reshape(tf.slice(o, [0, cy, cx, 0], [n, 1, 1, c]), [n, c])];
        });
      });
      need.forEach((b, k) => {
        const [m, cm] = reduced[k].map((t) => t.arraySync() as number[][]);
        for (const row of m) row.forEach((v, c) => (acc[b].max[c] = Math.max(acc[b].max[c], v)));
        for (const row of cm) row.forEach((v, c) => (acc[b].centreMax[c] = Math.max(acc[b].centreMax[c], v)));
      });
      tf.dispose(reduced.flat());
      log(`\rphoto maxima ${model.id}: ${Math.min(i + B, files.length)}/${files.length}`);
    }
    log('\n');
    for (const b of need) cached[b] = { ...acc[b], n: files.length };
    await mkdir(dirname(cacheFile), { recursive: true });
    await writeFile(cacheFile, JSON.stringify(cached));
  }
  return Object.fromEntries(blobs.map((b) => [b, cached[b]]));
}

/** Decodes a saved image file to 8-bit RGB at `size` (resized when it differs). */
export async function readRgb(file: string, size: [number, number]): Promise<Uint8Array> {
  const [h, w] = size;
  const { data } = await sharp(file).removeAlpha().resize(w, h, { fit: 'fill', kernel: 'linear' }).raw().toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export interface Evaluation {
  /** Activation of `unit` of `blob` (centre for conv, `objective` channel mean when asked). */
  activation: number;
  /** Top-5 class indices of the model's last blob. */
  top5: number[];
  /** Value of the last blob (the softmax) at `classes[i]`, when asked. */
  prob: number;
}

/** Runs `net` on saved images and reads one unit each plus the top-5 classes of the last blob. */
export async function evaluateImages(
  net: Net,
  model: Model,
  files: string[],
  units: { blob: string; unit: number }[] | null,
  classes?: number[],
): Promise<Evaluation[]> {
  const out: Evaluation[] = [];
  const last = model.graph.blobs[model.graph.blobs.length - 1].name;
  const [h, w] = model.preprocess.size;
  for (let i = 0; i < files.length; i++) {
    const rgb = await readRgb(files[i], model.preprocess.size);
    const x = tf.tensor4d(rgbToInput(rgb, model.preprocess), [1, h, w, 3]);
    const u = units?.[i];
    const blobs = u ? [...new Set([u.blob, last])] : [last];
    const res = tf.tidy(() => {
      const o = net.forward(x, blobs);
      let act = tf.scalar(NaN);
      if (u) {
        const b = o[u.blob];
        if (b.rank === 2) act = tf.slice(b, [0, u.unit], [1, 1]).reshape([]);
        else {
          const [cy, cx] = centre(b.shape[1]!, b.shape[2]!);
          act = tf.slice(b, [0, cy, cx, u.unit], [1, 1, 1, 1]).reshape([]);
        }
      }
      const probs = tf.reshape(o[last], [-1]);
      return { act, top: tf.topk(probs, 5).indices, p: classes ? tf.slice(probs, [classes[i]], [1]).reshape([]) : tf.scalar(NaN) };
    });
    out.push({ activation: res.act.dataSync()[0], top5: Array.from(res.top.dataSync()), prob: res.p.dataSync()[0] });
    tf.dispose([x, res.act, res.top, res.p]);
  }
  return out;
}
