import type { ResizeCoordinates, ResizeLayer } from '../../graph/tensor-layers.ts';
import { FRONT, isFront } from './batch-axis.ts';
import { Ctx } from './context.ts';
import { activation } from './ops-elementwise.ts';
import type { Converter } from './ops-nn.ts';
import { numel } from './tensor.ts';

/**
 * ONNX → Graph for the operators of today's exports beyond the classic CNN set: LayerNormalization
 * (ConvNeXt, ViT), Gelu (opset 20), Resize / Upsample, Expand of a blob.
 */

export const layerNorm: Converter = (ctx, node, a, name) => {
  const x = ctx.anyValue(node, node.inputs[0]);
  const r = x.shape.length;
  const onnxRank = ctx.dims(x).length;
  const from = a.int('axis', -1) < 0 ? a.int('axis', -1) + onnxRank : a.int('axis', -1);
  if (from <= (x.at ?? FRONT).axis) ctx.fail(node, `normalises from axis ${a.int('axis', -1)} on, which includes the batch axis`);
  const axis = ctx.axisOf(node, x, from);
  const normShape = x.shape.slice(axis);
  const params = [1, 2].flatMap((i) => {
    const t = ctx.optConst(node, i, i === 1 ? 'scale' : 'bias');
    if (!t) return [];
    // Scale and bias broadcast against the normalised axes (numpy rules): expand them to that shape.
    const dims = [...Array(Math.max(0, normShape.length - t.dims.length)).fill(1), ...t.dims];
    if (dims.length !== normShape.length || dims.some((d, k) => d !== 1 && d !== normShape[k]))
      ctx.fail(node, `${i === 1 ? 'scale' : 'bias'} of shape [${t.dims}] does not broadcast to the normalised axes [${normShape}]`);
    const src = ctx.floats(t);
    const out = new Float32Array(numel(normShape));
    const strides = dims.map((_, k) => numel(dims.slice(k + 1)));
    for (let o = 0; o < out.length; o++) {
      let rest = o,
        at = 0;
      for (let k = 0; k < normShape.length; k++) {
        const inner = numel(normShape.slice(k + 1));
        const c = Math.floor(rest / inner);
        rest -= c * inner;
        if (dims[k] !== 1) at += c * strides[k];
      }
      out[o] = src[at];
    }
    return [Ctx.param(normShape, out)];
  });
  if (!params.length) ctx.fail(node, 'needs a scale');
  const eps = a.float('epsilon', 1e-5);
  const axes = Array.from({ length: r - axis }, (_, i) => axis + i);
  const full = [...new Array(axis).fill(1), ...normShape];
  ctx.emit(
    { kind: 'layernorm', name, bottoms: [x.blob], tops: [node.outputs[0]], axes, eps, biasTerm: params.length === 2 },
    params.map((p) => Ctx.param(full, p.data)),
    x.at,
  );
  const [, meanOut, invStdOut] = node.outputs;
  if ((meanOut || invStdOut) && !isFront(x.at)) ctx.fail(node, 'the Mean / InvStdDev outputs of a tensor whose batch is not on axis 0 are not supported');
  if (meanOut || invStdOut) statistics(ctx, name, x.blob, axes, eps, meanOut, invStdOut);
};

/** LayerNormalization's optional outputs: the mean and 1/sqrt(var + eps) over the normalised axes (kept as size 1). */
function statistics(ctx: Ctx, name: string, x: string, axes: number[], eps: number, meanOut?: string, invStdOut?: string): void {
  const blob = (suffix: string) => ctx.internalBlob(`${name}/${suffix}`);
  const layer = (suffix: string) => ctx.layerName(`${name}/${suffix}`);
  const mean = meanOut || blob('mean');
  ctx.emit({ kind: 'reduce', name: layer('mean'), bottoms: [x], tops: [mean], op: 'mean', axes, keepDims: true });
  if (!invStdOut) return;
  const [dev, sq, variance, shifted, std] = ['dev', 'sq', 'var', 'shifted', 'std'].map(blob);
  ctx.emit({ kind: 'binary', name: layer('dev'), bottoms: [x, mean], tops: [dev], op: 'sub', constant: 'none' });
  ctx.emit({ kind: 'eltwise', name: layer('sq'), bottoms: [dev, dev], tops: [sq], op: 'prod', coeffs: [] });
  const [shape] = ctx.emit({ kind: 'reduce', name: layer('var'), bottoms: [sq], tops: [variance], op: 'mean', axes, keepDims: true });
  const ones = shape.map(() => 1);
  ctx.emit({ kind: 'binary', name: layer('shifted'), bottoms: [variance], tops: [shifted], op: 'add', constant: 'second', constShape: ones }, [
    Ctx.param([1, ...ones], new Float32Array([eps])),
  ]);
  ctx.emit({ kind: 'activation', name: layer('std'), bottoms: [shifted], tops: [std], fn: 'sqrt', alpha: 1, beta: 0, gamma: 1 });
  ctx.emit({ kind: 'activation', name: layer('inv'), bottoms: [std], tops: [invStdOut], fn: 'reciprocal', alpha: 1, beta: 0, gamma: 1 });
}

export const gelu: Converter = (ctx, node, a, name) => {
  const approx = a.string('approximate', 'none');
  if (approx !== 'none' && approx !== 'tanh') ctx.fail(node, `approximate "${approx}" (none or tanh)`);
  activation(approx === 'tanh' ? 'gelutanh' : 'gelu')(ctx, node, a, name);
};

const COORDINATES = new Set<ResizeCoordinates>([
  'half_pixel',
  'pytorch_half_pixel',
  'align_corners',
  'asymmetric',
  'tf_half_pixel_for_nn',
  'half_pixel_symmetric',
]);
const NEAREST = new Set<ResizeLayer['nearest']>(['round_prefer_floor', 'round_prefer_ceil', 'floor', 'ceil']);

/**
 * Resize (opsets 10–19) and Upsample (7, 9). Resize-10 and Upsample map coordinates asymmetrically
 * and pick the floor (upsampling) or ceil (downsampling) neighbour, as ONNX Runtime does.
 */
export const resize: Converter = (ctx, node, a, name) => {
  const x = ctx.value(node, node.inputs[0]);
  const full = ctx.full(x.shape);
  const r = full.length;
  const legacy = node.opType === 'Upsample' || ctx.opset < 11;
  let mode = a.string('mode', 'nearest') as ResizeLayer['mode'] | 'bilinear';
  if (mode === 'bilinear') mode = 'linear';
  if (mode !== 'nearest' && mode !== 'linear') ctx.fail(node, `mode "${mode}" is not supported (nearest, linear)`);
  if (a.int('antialias', 0)) ctx.fail(node, 'antialias = 1 is not supported');
  const coordinates = (legacy ? 'asymmetric' : a.string('coordinate_transformation_mode', 'half_pixel')) as ResizeCoordinates;
  if (!COORDINATES.has(coordinates)) ctx.fail(node, `coordinate_transformation_mode "${coordinates}" is not supported`);
  const policy = a.string('keep_aspect_ratio_policy', 'stretch');
  if (policy !== 'stretch') ctx.fail(node, `keep_aspect_ratio_policy "${policy}" is not supported (stretch)`);
  const axesAttr = a.ints('axes')?.map((v) => (v < 0 ? v + r : v)) ?? Array.from({ length: r }, (_, i) => i);
  // Scales and sizes: an attribute (Upsample-7), input 1 (Upsample-9, Resize-10), inputs 2 and 3 (Resize ≥ 11).
  const scaleIn = node.opType === 'Upsample' ? (ctx.opset < 9 ? undefined : 1) : ctx.opset < 11 ? 1 : 2;
  const given =
    scaleIn === undefined
      ? a.floats('scales')
      : (() => {
          const t = ctx.optConst(node, scaleIn, 'scales');
          return t && numel(t.dims) ? Array.from(ctx.floats(t)) : undefined;
        })();
  const sizesT = !legacy ? ctx.optConst(node, 3, 'sizes') : undefined;
  const sizesGiven = sizesT && numel(sizesT.dims) ? ctx.ints(node, sizesT, 'sizes') : undefined;
  if (!given && !sizesGiven) ctx.fail(node, 'needs scales or sizes');
  if ((given ?? sizesGiven)!.length !== axesAttr.length) ctx.fail(node, `${(given ?? sizesGiven)!.length} scales/sizes for ${axesAttr.length} axes`);
  const outFull = [...full];
  const scaleFull = full.map(() => 1);
  axesAttr.forEach((ax, i) => {
    if (sizesGiven) {
      outFull[ax] = sizesGiven[i];
      scaleFull[ax] = sizesGiven[i] / full[ax];
    } else {
      scaleFull[ax] = given![i];
      outFull[ax] = Math.floor(full[ax] * given![i]);
    }
  });
  if (outFull[0] !== full[0]) ctx.fail(node, 'resizes the batch axis');
  const axes = outFull.flatMap((d, i) => (i > 0 && (d !== full[i] || scaleFull[i] !== 1) ? [i - 1] : []));
  if (!axes.length) {
    ctx.emit({ kind: 'identity', name, bottoms: [x.blob], tops: [node.outputs[0]] });
    return;
  }
  const scales = axes.map((ax) => scaleFull[ax + 1]);
  let nearest = (legacy ? 'floor' : a.string('nearest_mode', 'round_prefer_floor')) as ResizeLayer['nearest'];
  if (legacy && scales.every((s) => s < 1)) nearest = 'ceil';
  else if (legacy && scales.some((s) => s < 1)) ctx.fail(node, 'upsamples some axes and downsamples others (not supported for this operator version)');
  if (!NEAREST.has(nearest)) ctx.fail(node, `nearest_mode "${nearest}" is not supported`);
  ctx.emit({
    kind: 'resize',
    name,
    bottoms: [x.blob],
    tops: [node.outputs[0]],
    mode,
    coordinates,
    nearest,
    axes,
    sizes: axes.map((ax) => outFull[ax + 1]),
    scales,
  });
};

/**
 * Expand of a blob to a larger per-image shape: an add of zeros of that shape. (Expand of a
 * constant, such as ViT's class token `expand(N, -1, -1)`, is folded at import.)
 */
export const expand: Converter = (ctx, node, _a, name) => {
  const target = ctx.ints(node, ctx.constant(node, node.inputs[1], 'shape'), 'shape');
  const x = ctx.value(node, node.inputs[0]);
  const full = ctx.full(x.shape);
  if (target.length > full.length) ctx.fail(node, `expanding a ${full.length}-D tensor to ${target.length} axes would move the batch axis`);
  const td = [...Array(full.length - target.length).fill(1), ...target];
  const out = full.map((d, i) => (d === td[i] || td[i] === 1 ? d : d === 1 ? td[i] : ctx.fail(node, `cannot expand [${full}] to [${target}]`)));
  if (out[0] !== full[0]) ctx.fail(node, 'expands the batch axis');
  const shape = out.slice(1);
  if (shape.every((d, i) => d === x.shape[i])) {
    ctx.emit({ kind: 'identity', name, bottoms: [x.blob], tops: [node.outputs[0]] });
    return;
  }
  ctx.emit({ kind: 'binary', name, bottoms: [x.blob], tops: [node.outputs[0]], op: 'add', constant: 'second', constShape: shape }, [
    Ctx.param([1, ...shape], new Float32Array(numel(shape))),
  ]);
};
