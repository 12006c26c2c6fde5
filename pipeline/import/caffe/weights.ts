import { UserError } from '../../core/errors.ts';
import { graphParamShapes } from '../../graph/params.ts';
import type { Graph, ParamBlob } from '../../graph/types.ts';
import type { CaffeBlob, CaffeWeights } from './caffemodel.ts';

/**
 * Matches .caffemodel blobs to the graph's layers by name, as Caffe's CopyTrainedLayersFrom does:
 * layers of the file that the net lacks are ignored; a layer of the net that takes parameters must
 * find them, with the same number of blobs and the same shapes. Legacy blobs (num/channels/height/
 * width) are compared with the expected shape padded to 4-D with leading 1s (Caffe's LegacyShape),
 * so an old fc weight 1×1×out×in fits [out, in] and a bias 1×1×1×out fits [out].
 * Returned blobs carry the canonical shapes (conv [out, in/g, kh, kw], fc [out, in]).
 */
export function matchWeights(
  g: Pick<Graph, 'layers' | 'blobs'>,
  w: CaffeWeights,
  file: string,
  transposedFc: ReadonlySet<string> = new Set(),
): Map<string, ParamBlob[]> {
  const expected = graphParamShapes(g);
  const out = new Map<string, ParamBlob[]>();
  const fmt = (s: number[]) => (s.length ? s.join('×') : '(scalar)');
  for (const l of g.layers) {
    const src = w.layers.get(l.name);
    const want = expected.get(l.name) ?? [];
    if (want.length === 0) {
      if (src && src.length)
        throw new UserError(`${file}: layer "${l.name}" (${l.kind}) takes no parameters, but the .caffemodel has ${src.length} blob(s) for it`);
      continue;
    }
    if (!src || src.length === 0) throw new UserError(`${file}: no weights for layer "${l.name}" (expected ${want.map(fmt).join(' and ')})`);
    if (src.length !== want.length)
      throw new UserError(
        `${file}: layer "${l.name}" has ${src.length} parameter blob(s) in the .caffemodel (${src.map((b) => fmt(b.shape)).join(', ')}), the architecture needs ${want.length} (${want.map(fmt).join(', ')})`,
      );
    const transposed = transposedFc.has(l.name);
    out.set(
      l.name,
      want.map((shape, j) => {
        const stored = transposed && j === 0 ? [shape[1], shape[0]] : shape;
        const b = src[j];
        if (!shapeEquals(b, stored))
          throw new UserError(
            `${file}: layer "${l.name}": ${j === 0 ? 'weight' : `parameter ${j}`} shape mismatch: the .caffemodel has ${fmt(b.shape)}, the architecture needs ${fmt(stored)}`,
          );
        return { shape: [...shape], data: transposed && j === 0 ? transpose(b.data, stored[0], stored[1]) : b.data };
      }),
    );
  }
  return out;
}

function shapeEquals(b: CaffeBlob, want: number[]): boolean {
  if (b.legacy) {
    if (want.length > 4) return false;
    const padded = [...Array(4 - want.length).fill(1), ...want];
    return padded.every((d, i) => d === b.shape[i]);
  }
  return b.shape.length === want.length && b.shape.every((d, i) => d === want[i]);
}

/** [rows, cols] → [cols, rows]. */
function transpose(a: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
  return t;
}
