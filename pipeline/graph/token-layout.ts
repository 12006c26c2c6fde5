import { unionNonEmpty } from './tensor-shapes.ts';
import { gridOf } from './tensor-shapes.ts';
import type { BlobInfo, Layer, ReceptiveField, TokenLayout } from './types.ts';

/**
 * Tokens of transformer blobs (ViT): a C×H×W patch embedding flattened to [C, H·W] becomes a
 * token axis whose positions are the H×W patch grid; Transposes move that axis, a Concat of a
 * constant class token before it shifts the grid's first position, and every operation that
 * treats tokens alike (elementwise, LayerNorm and Linear layers over channels, residual adds)
 * keeps it. Each grid token keeps its receptive field (its patch) until something mixes tokens
 * (attention); after that the residual stream still has the layout, its field the whole image.
 */

const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** The layout and field of a layer's first output, when it has tokens. */
export function tokenOutput(l: Layer, ins: BlobInfo[], out: { shape: number[]; rf: ReceptiveField }): { tokens: TokenLayout; rf: ReceptiveField } | undefined {
  const x = ins[0];
  if (!x) return undefined;
  if (l.kind === 'reshape' && !l.pre && !l.post) return flattenedGrid(x, out.shape);
  const src = ins.find((b) => b.tokens);
  if (!src?.tokens) return undefined;
  const t = src.tokens;
  const keep = () => ({ tokens: t, rf: src.rf });
  switch (l.kind) {
    case 'activation':
    case 'clip':
    case 'identity':
    case 'relu':
      return same(out.shape, x.shape) ? keep() : undefined;
    case 'layernorm':
      return l.axes.every((a) => (a < 0 ? a + x.shape.length : a) !== t.axis) ? keep() : undefined;
    case 'softmaxnd':
      return l.axes.every((a) => (a < 0 ? a + x.shape.length : a) !== t.axis) ? keep() : undefined;
    case 'matmul':
      return l.weightShape.slice(0, -2).every((d) => d === 1) && t.axis !== x.shape.length - 1 && out.shape[t.axis] === x.shape[t.axis] ? keep() : undefined;
    case 'pad':
      return l.pads[t.axis] === 0 && l.pads[t.axis + x.shape.length] === 0 ? keep() : undefined;
    case 'binary':
    case 'eltwise':
      // Elementwise with a constant or with another blob of the same shape (a residual add).
      if (!same(out.shape, src.shape)) return undefined;
      return { tokens: t, rf: unionNonEmpty(ins.map((b) => b.rf)) };
    case 'reshape': {
      const perm = l.pre && !l.post ? l.pre : !l.pre && l.post ? l.post : undefined;
      if (
        !perm ||
        !same(
          out.shape,
          perm.map((p) => x.shape[p]),
        )
      )
        return undefined;
      return { tokens: { ...t, axis: perm.indexOf(t.axis) }, rf: src.rf };
    }
    case 'concatnd': {
      const axis = l.axis < 0 ? l.axis + x.shape.length : l.axis;
      if (axis !== t.axis) return ins.every((b) => b.tokens && b.tokens.axis === t.axis) ? keep() : undefined;
      // Along the tokens: only constants (a class token) beside the one token blob.
      const at = ins.indexOf(src);
      if (ins.some((b, i) => i !== at && (b.rf.size[0] > 0 || b.rf.size[1] > 0))) return undefined;
      const before = ins.slice(0, at).reduce((s, b) => s + b.shape[axis], 0);
      return { tokens: { ...t, first: t.first + before }, rf: src.rf };
    }
    default:
      return undefined;
  }
}

/** A C×H×W (or channels-last H×W×C) blob with its two grid axes merged into one token axis. */
function flattenedGrid(x: BlobInfo, shape: number[]): { tokens: TokenLayout; rf: ReceptiveField } | undefined {
  const g = gridOf(x);
  if (!g || g[1] !== g[0] + 1 || x.tokens) return undefined;
  const merged = [...x.shape.slice(0, g[0]), x.shape[g[0]] * x.shape[g[1]], ...x.shape.slice(g[1] + 1)];
  if (!same(merged, shape)) return undefined;
  return { tokens: { axis: g[0], first: 0, grid: [x.shape[g[0]], x.shape[g[1]]] }, rf: x.rf };
}
