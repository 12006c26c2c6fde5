import { unionRf, wholeImageRf, windowRf } from './receptive-field.ts';
import type { TensorLayer } from './tensor-layers.ts';
import type { BlobInfo, BlobOut, Pair, ReceptiveField } from './types.ts';

/**
 * Output shapes and receptive fields of the layer kinds of types-extra.ts (ONNX / TF.js models),
 * called from shapes.ts for those kinds. Shapes are per image, NCHW semantics (axis 0 = channels).
 *
 * Receptive fields: spatial windows (pad, pooling, transposed convolution) move and grow the field
 * as convolutions do; elementwise ops keep it; ops that mix positions of the spatial axes
 * (reshape, matmul over the last axis, spatial softmax/reduction/concatenation, instance norm)
 * give the whole image. A constant sees no pixel (size 0) and is left out of unions.
 */

export type Outs = BlobOut[];

/** The per-image axes a blob's field runs along: `grid`, else axes 1, 2 of a C×H×W blob. */
export function gridOf(b: Pick<BlobInfo, 'shape' | 'grid'>): Pair | undefined {
  return b.grid ?? (b.shape.length === 3 ? [1, 2] : undefined);
}

/** An output with the input's field on the grid axes `grid` (recorded only when not the default). */
function onGrid(shape: number[], rf: ReceptiveField, grid: Pair | undefined): Outs[number] {
  const plain = !grid || (shape.length === 3 && grid[0] === 1 && grid[1] === 2);
  return plain ? { shape, rf } : { shape, rf, grid };
}

/** Whether an op along `axes` leaves the grid axes `grid` alone (so each grid position keeps its field). */
const offGrid = (axes: number[], grid: Pair | undefined): boolean => !!grid && !axes.includes(grid[0]) && !axes.includes(grid[1]);

const count = (s: number[]) => s.reduce((a, d) => a * d, 1);
const same = (a: number[], b: number[]) => a.length === b.length && a.every((d, i) => d === b[i]);

/** A constant's field: no pixel. */
export function noRf(): ReceptiveField {
  return { size: [0, 0], stride: [1, 1], offset: [0, 0] };
}

/** Union of fields, ignoring constants (size 0); a constant alone keeps size 0. */
export function unionNonEmpty(rfs: ReceptiveField[]): ReceptiveField {
  const real = rfs.filter((r) => r.size[0] > 0 || r.size[1] > 0);
  return real.length ? unionRf(real) : rfs[0];
}

/** numpy broadcasting of two per-image shapes of equal rank; undefined when they do not broadcast. */
export function broadcastShapes(a: number[], b: number[]): number[] | undefined {
  if (a.length !== b.length) return undefined;
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || b[i] === 1) out.push(a[i]);
    else if (a[i] === 1) out.push(b[i]);
    else return undefined;
  }
  return out;
}

/** Normalises an axis of a rank-`rank` per-image shape (negative counts from the end). */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** Output size of a pooling window along one axis (ONNX/PyTorch rule for ceil mode). */
export function pooledSize(n: number, k: number, s: number, d: number, pb: number, pe: number, ceil: boolean): number {
  const ext = d * (k - 1) + 1;
  const span = n + pb + pe - ext;
  let o = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (o - 1) * s >= n + pb) o--;
  return o;
}

/** The result of reshape layer semantics on a shape (for shape inference). */
export function permute(shape: number[], perm: number[]): number[] {
  return perm.map((p) => shape[p]);
}

export function tensorLayerOutputs(l: TensorLayer, ins: BlobInfo[], imageSize: Pair, fail: (m: string) => never): Outs {
  const x = ins[0];
  const whole = () => wholeImageRf(imageSize);
  /** Keeps the field when the blob is still C×H×W with the same spatial grid, else the whole image. */
  const keepIfGrid = (shape: number[]) => (shape.length === 3 && x.shape.length === 3 && shape[1] === x.shape[1] && shape[2] === x.shape[2] ? x.rf : whole());
  switch (l.kind) {
    case 'const':
      return [{ shape: [...l.shape], rf: noRf() }];
    case 'activation':
    case 'clip':
      return [onGrid([...x.shape], x.rf, x.grid)];
    case 'layernorm': {
      const r = x.shape.length;
      const axes = l.axes.map((a) => normAxis(a, r));
      if (!axes.length || axes.some((a) => a < 0 || a >= r)) fail(`layer normalisation over axes [${l.axes}] of a ${x.shape.join('×')} blob`);
      const grid = gridOf(x);
      return [offGrid(axes, grid) ? onGrid([...x.shape], x.rf, grid) : { shape: [...x.shape], rf: whole() }];
    }
    case 'resize': {
      const r = x.shape.length;
      const shape = [...x.shape];
      l.axes.forEach((a, i) => {
        if (a < 0 || a >= r) fail(`resized axis ${a} out of range for ${x.shape.join('×')}`);
        if (l.sizes[i] < 1) fail(`output size ${l.sizes[i]} along axis ${a}`);
        shape[a] = l.sizes[i];
      });
      const grid = gridOf(x);
      if (!grid || offGrid(l.axes, grid)) return [onGrid(shape, grid ? x.rf : whole(), grid)];
      // Resizing the grid by an integer factor f: output position j reads input positions within one
      // of j/f, so its field is theirs: stride S/f, one input stride S more on either side.
      const factor = grid.map((g) => shape[g] / x.shape[g]);
      const exact = factor.every((f, i) => f >= 1 && Number.isInteger(f) && x.rf.stride[i] % f === 0);
      if (!exact) return [{ shape, rf: whole() }];
      const axisRf = (i: 0 | 1) =>
        factor[i] === 1
          ? { size: x.rf.size[i], stride: x.rf.stride[i], offset: x.rf.offset[i] }
          : { size: x.rf.size[i] + 2 * x.rf.stride[i], stride: x.rf.stride[i] / factor[i], offset: x.rf.offset[i] - x.rf.stride[i] };
      const a = axisRf(0),
        b = axisRf(1);
      return [onGrid(shape, { size: [a.size, b.size], stride: [a.stride, b.stride], offset: [a.offset, b.offset] }, grid)];
    }
    case 'instancenorm':
      if (x.shape.length < 2) fail(`instance normalisation needs spatial axes, got ${x.shape.join('×')}`);
      return [{ shape: [...x.shape], rf: whole() }];
    case 'pad': {
      const r = x.shape.length;
      if (l.pads.length !== 2 * r) fail(`${l.pads.length} pads for a ${r}-axis blob ${x.shape.join('×')}`);
      const shape = x.shape.map((d, i) => d + l.pads[i] + l.pads[i + r]);
      if (shape.some((d) => d < 1)) fail(`padding ${l.pads.join(',')} leaves an empty blob`);
      if (l.mode === 'reflect')
        x.shape.forEach((d, i) => {
          if (Math.max(l.pads[i], l.pads[i + r]) >= d) fail(`reflect padding ${l.pads[i]}/${l.pads[i + r]} needs an axis longer than ${d}`);
        });
      const rf = r === 3 && l.pads[0] === 0 && l.pads[3] === 0 ? windowRf(x.rf, [1, 1], [1, 1], [l.pads[1], l.pads[2]]) : r === 3 ? x.rf : whole();
      return [{ shape, rf }];
    }
    case 'pooling': {
      const sp = x.shape.length - 1;
      if (sp !== l.kernel.length || (sp !== 1 && sp !== 2))
        fail(`${l.kernel.length}-D pooling of a ${x.shape.join('×')} blob (1-D or 2-D pooling of C×L or C×H×W only)`);
      const out = [x.shape[0]];
      for (let i = 0; i < sp; i++) {
        const n = x.shape[1 + i];
        const ext = l.dilation[i] * (l.kernel[i] - 1) + 1;
        if (n + l.padBegin[i] + l.padEnd[i] < ext) fail(`kernel ${l.kernel.join('×')} is larger than the padded input ${x.shape.slice(1).join('×')}`);
        out.push(pooledSize(n, l.kernel[i], l.stride[i], l.dilation[i], l.padBegin[i], l.padEnd[i], l.ceil));
      }
      const ext = l.kernel.map((k, i) => l.dilation[i] * (k - 1) + 1);
      const rf = sp === 2 ? windowRf(x.rf, ext as Pair, l.stride as Pair, l.padBegin as Pair) : x.rf;
      return [{ shape: out, rf }];
    }
    case 'convtranspose': {
      if (x.shape.length !== 3) fail(`needs a C×H×W input, but "${x.name}" is ${x.shape.join('×')}`);
      const [c, h, w] = x.shape;
      if (c % l.group || l.numOutput % l.group) fail(`${c} input and ${l.numOutput} output channels do not split into ${l.group} groups`);
      const size = (n: number, i: 0 | 1) => (n - 1) * l.stride[i] + l.outputPadding[i] + l.dilation[i] * (l.kernel[i] - 1) + 1 - l.padBegin[i] - l.padEnd[i];
      const shape = [l.numOutput, size(h, 0), size(w, 1)];
      if (shape[1] < 1 || shape[2] < 1) fail(`output size ${shape.join('×')} is empty`);
      const axis = (i: 0 | 1) => {
        const span = l.dilation[i] * (l.kernel[i] - 1);
        return {
          size: x.rf.size[i] + Math.ceil(span / l.stride[i]) * x.rf.stride[i],
          stride: x.rf.stride[i] / l.stride[i],
          offset: x.rf.offset[i] + Math.floor((l.padBegin[i] - span) / l.stride[i]) * x.rf.stride[i],
        };
      };
      const a = axis(0),
        b = axis(1);
      return [{ shape, rf: { size: [a.size, b.size], stride: [a.stride, b.stride], offset: [a.offset, b.offset] } }];
    }
    case 'binary': {
      if (l.constant === 'none') {
        if (ins.length !== 2) fail(`needs two inputs, got ${ins.length}`);
        const shape =
          broadcastShapes(ins[0].shape, ins[1].shape) ??
          fail(`cannot broadcast "${ins[0].name}" ${ins[0].shape.join('×')} with "${ins[1].name}" ${ins[1].shape.join('×')}`);
        if (shape.length === 1) return [{ shape, rf: whole() }];
        const grids = ins.map((b) => gridOf(b));
        const grid = grids[0] && grids.every((g) => g && g[0] === grids[0]?.[0] && g[1] === grids[0]?.[1]) ? grids[0] : undefined;
        // An operand broadcast over the whole grid (a squeeze-excitation gate, C×1×1) scales each
        // position: the position's field is the other operand's (the gate's is the whole image).
        const local = grid ? ins.filter((b) => b.shape[grid[0]] === shape[grid[0]] && b.shape[grid[1]] === shape[grid[1]]) : ins;
        return [onGrid(shape, unionNonEmpty((local.length ? local : ins).map((b) => b.rf)), grid)];
      }
      const cs = l.constShape ?? fail('constant operand without a shape');
      const shape = broadcastShapes(x.shape, cs) ?? fail(`cannot broadcast "${x.name}" ${x.shape.join('×')} with a constant of shape ${cs.join('×')}`);
      return [same(shape, x.shape) ? onGrid(shape, x.rf, x.grid) : { shape, rf: keepIfGrid(shape) }];
    }
    case 'tokengrid': {
      if (x.shape.length !== 2 || l.axis < 0 || l.axis > 1) fail(`a token grid view of a ${x.shape.join('×')} blob (tokens × channels only)`);
      const [gh, gw] = l.grid;
      if (l.first < 0 || l.first + gh * gw > x.shape[l.axis]) fail(`tokens ${l.first}…${l.first + gh * gw - 1} of ${x.shape[l.axis]}`);
      // Each grid position is one token: its field when the tokens have one (before attention mixes them).
      const t = x.tokens;
      const perToken = t && t.axis === l.axis && t.first === l.first && t.grid[0] === gh && t.grid[1] === gw;
      return [{ shape: [x.shape[1 - l.axis], gh, gw], rf: perToken ? x.rf : whole() }];
    }
    case 'batchmatmul': {
      const [a, b] = ins;
      const r = a.shape.length;
      if (r < 2 || b.shape.length !== r) fail(`matmul of ${a.shape.join('×')} by ${b.shape.join('×')}: ranks differ or below 2`);
      if (a.shape[r - 1] !== b.shape[r - 2]) fail(`matmul of ${a.shape.join('×')} by ${b.shape.join('×')}: inner sizes differ`);
      const lead =
        broadcastShapes(a.shape.slice(0, r - 2), b.shape.slice(0, r - 2)) ??
        fail(`matmul of ${a.shape.join('×')} by ${b.shape.join('×')}: leading axes do not broadcast`);
      return [{ shape: [...lead, a.shape[r - 2], b.shape[r - 1]], rf: whole() }];
    }
    case 'matmul': {
      const ws = l.weightShape;
      if (x.shape.length < 2 || ws.length !== x.shape.length) fail(`matmul of ${x.shape.join('×')} by ${ws.join('×')}: ranks differ or input is 1-D`);
      const r = ws.length;
      if (x.shape[r - 1] !== ws[r - 2]) fail(`matmul of ${x.shape.join('×')} by ${ws.join('×')}: inner sizes differ`);
      const batch =
        broadcastShapes(x.shape.slice(0, r - 2), ws.slice(0, r - 2)) ?? fail(`matmul of ${x.shape.join('×')} by ${ws.join('×')}: batch axes do not broadcast`);
      const shape = [...batch, x.shape[r - 2], ws[r - 1]];
      // One weight matrix over the last axis (a Linear layer on a channels-last view): each position keeps its field.
      const grid = gridOf(x);
      const perPosition = ws.slice(0, r - 2).every((d) => d === 1) && offGrid([r - 1], grid);
      return [perPosition ? onGrid(shape, x.rf, grid) : { shape, rf: whole() }];
    }
    case 'reshape': {
      let s = x.shape;
      if (l.pre) {
        if (l.pre.length !== s.length) fail(`permutation [${l.pre}] of a ${s.length}-axis blob`);
        s = permute(s, l.pre);
      }
      if (count(l.shape) !== count(x.shape)) fail(`cannot reshape ${x.shape.join('×')} (${count(x.shape)} values) to ${l.shape.join('×')}`);
      s = [...l.shape];
      if (l.post) {
        if (l.post.length !== s.length) fail(`permutation [${l.post}] of a ${s.length}-axis blob`);
        s = permute(s, l.post);
      }
      const plain = !l.pre && !l.post;
      // A pure permutation of the axes (Transpose) moves the grid with them.
      const perm = l.pre && !l.post && same(l.shape, permute(x.shape, l.pre)) ? l.pre : !l.pre && l.post && same(l.shape, x.shape) ? l.post : undefined;
      const grid = gridOf(x);
      if (perm && grid) return [onGrid(s, x.rf, [perm.indexOf(grid[0]), perm.indexOf(grid[1])])];
      return [{ shape: s, rf: same(s, x.shape) && plain ? x.rf : s.length === 1 ? whole() : plain ? keepIfGrid(s) : whole() }];
    }
    case 'softmaxnd': {
      const axes = l.axes.map((a) => normAxis(a, x.shape.length));
      if (axes.some((a) => a < 0 || a >= x.shape.length)) fail(`softmax axes [${l.axes}] out of range for ${x.shape.join('×')}`);
      const grid = gridOf(x);
      return [offGrid(axes, grid) ? onGrid([...x.shape], x.rf, grid) : { shape: [...x.shape], rf: whole() }];
    }
    case 'concatnd': {
      const r = x.shape.length;
      const axis = normAxis(l.axis, r);
      if (axis < 0 || axis >= r) fail(`concat axis ${l.axis} out of range for ${x.shape.join('×')}`);
      for (const b of ins)
        if (b.shape.length !== r || b.shape.some((d, i) => i !== axis && d !== x.shape[i]))
          fail(`cannot concatenate "${x.name}" ${x.shape.join('×')} and "${b.name}" ${b.shape.join('×')} along axis ${axis}`);
      const shape = [...x.shape];
      shape[axis] = ins.reduce((a, b) => a + b.shape[axis], 0);
      return [{ shape, rf: axis === 0 && r !== 1 ? unionNonEmpty(ins.map((b) => b.rf)) : whole() }];
    }
    case 'reduce': {
      const r = x.shape.length;
      const axes = l.axes.map((a) => normAxis(a, r));
      if (axes.some((a) => a < 0 || a >= r)) fail(`reduce axes [${l.axes}] out of range for ${x.shape.join('×')}`);
      const shape = l.keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
      const grid = gridOf(x);
      if (!grid || !offGrid(axes, grid)) return [{ shape, rf: whole() }];
      const moved = (g: number) => (l.keepDims ? g : g - axes.filter((a) => a < g).length);
      return [onGrid(shape, x.rf, [moved(grid[0]), moved(grid[1])])];
    }
  }
}
