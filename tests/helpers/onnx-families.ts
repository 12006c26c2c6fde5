/**
 * Small versions of today's image networks, written node by node as `torch.onnx.export` writes
 * the torchvision models (same operator patterns, attribute values and opsets; seeded random
 * weights, 32×32 inputs, few channels): ResNet (basic and bottleneck blocks), MobileNetV2/V3
 * (ReLU6 as Clip, depthwise convolutions, HardSwish, HardSigmoid squeeze-excitation), EfficientNet
 * (SiLU as Sigmoid·Mul, squeeze-excitation), ConvNeXt (7×7 depthwise, channels-last Linear layers
 * between Transposes, GELU as Erf, LayerNormalization or its opset-14 decomposition), and a
 * feature-pyramid head with Resize (nearest and linear, as F.interpolate exports them).
 */
import { type Attr, INT64, OnnxBuilder } from '../../pipeline/io/onnx-writer.ts';
import { type BuiltModel, finish, Weights } from './onnx-models.ts';

type AttrMap = Record<string, Attr>;

/** Shared helpers: convolutions, BatchNormalization, Gemm, as the exporter names and writes them. */
class Net {
  readonly w: Weights;
  constructor(
    readonly b: OnnxBuilder,
    seed: number,
  ) {
    this.w = new Weights(seed, b);
  }
  conv(name: string, x: string, cin: number, cout: number, k: number, attrs: AttrMap = {}, bias = false): string {
    const group = (attrs.group as number | undefined) ?? 1;
    const pad = Math.floor(k / 2);
    const ins = [x, this.w.he(`${name}.weight`, [cout, cin / group, k, k], (cin / group) * k * k)];
    if (bias) ins.push(this.w.small(`${name}.bias`, [cout]));
    return this.b.node(
      'Conv',
      ins,
      { dilations: [1, 1], group, kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [1, 1], ...attrs },
      [`/${name}/Conv_output_0`],
      `/${name}/Conv`,
    );
  }
  bn(name: string, x: string, c: number): string {
    const w = this.w;
    return this.b.node(
      'BatchNormalization',
      [x, w.small(`${name}.weight`, [c], 0.2, 1), w.small(`${name}.bias`, [c]), w.small(`${name}.running_mean`, [c]), w.positive(`${name}.running_var`, [c])],
      { epsilon: { f: 1e-5 }, momentum: { f: 0.9 } },
      [`/${name}/BatchNormalization_output_0`],
      `/${name}/BatchNormalization`,
    );
  }
  op(op: string, inputs: string[], name: string, attrs: AttrMap = {}): string {
    return this.b.node(op, inputs, attrs, [`/${name}/${op}_output_0`], `/${name}/${op}`);
  }
  scalar(name: string, v: number): string {
    return this.b.init(name, [], [v]);
  }
  head(x: string, c: number, classes: number): string {
    x = this.op('GlobalAveragePool', [x], 'avgpool');
    x = this.op('Flatten', [x], 'flatten', { axis: 1 });
    return this.gemm('fc', x, c, classes, 'logits');
  }
  /** LayerNorm over the last axis: LayerNormalization (opset 17), or torch's opset-14 decomposition. */
  layerNorm(p: string, x: string, c: number, opset: number, eps = 1e-6): string {
    const scale = this.w.small(`${p}.weight`, [c], 0.2, 1),
      bias = this.w.small(`${p}.bias`, [c]);
    if (opset >= 17) return this.op('LayerNormalization', [x, scale, bias], p, { axis: -1, epsilon: { f: eps } });
    const mean = this.op('ReduceMean', [x], `${p}/mean`, { axes: [-1], keepdims: 1 });
    const d = this.op('Sub', [x, mean], p);
    const v = this.op('ReduceMean', [this.op('Pow', [d, this.scalar(`${p}.two`, 2)], p)], `${p}/var`, { axes: [-1], keepdims: 1 });
    const s = this.op('Sqrt', [this.op('Add', [v, this.scalar(`${p}.eps`, eps)], `${p}/eps`)], p);
    return this.op('Add', [this.op('Mul', [this.op('Div', [d, s], p), scale], p), bias], p);
  }
  /** nn.Linear on the last axis of a ≥ 3-D tensor: MatMul by the transposed weight, then Add of the bias. */
  linear(p: string, x: string, cin: number, cout: number, biasFirst = false): string {
    const y = this.op('MatMul', [x, this.w.he(`${p}.weight_t`, [cin, cout], cin)], p);
    const b = this.w.small(`${p}.bias`, [cout]);
    return this.op('Add', biasFirst ? [b, y] : [y, b], p);
  }
  /** nn.GELU() before opset 20: x · (erf(x / √2) + 1) · 0.5. */
  gelu(x: string, p: string): string {
    const erf = this.op('Erf', [this.op('Div', [x, this.scalar(`${p}.sqrt2`, Math.SQRT2)], p)], p);
    return this.op('Mul', [this.op('Mul', [x, this.op('Add', [erf, this.scalar(`${p}.one`, 1)], p)], p), this.scalar(`${p}.half`, 0.5)], `${p}/half`);
  }
  gemm(name: string, x: string, cin: number, cout: number, out?: string): string {
    const ins = [x, this.w.he(`${name}.weight`, [cout, cin], cin), this.w.small(`${name}.bias`, [cout])];
    return this.b.node('Gemm', ins, { alpha: { f: 1 }, beta: { f: 1 }, transB: 1 }, [out ?? `/${name}/Gemm_output_0`], `/${name}/Gemm`);
  }
}

/** ResNet: 7×7 stem, max pool, a basic block, a downsampling basic block (1×1 shortcut), a bottleneck. */
export function resnetOnnx(seed = 1): BuiltModel {
  const b = new OnnxBuilder(17, 'resnet');
  const n = new Net(b, seed);
  b.input('input', ['N', 3, 32, 32]);
  let x = n.op('Relu', [n.bn('bn1', n.conv('conv1', 'input', 3, 8, 7, { strides: [2, 2] }), 8)], 'relu');
  x = n.op('MaxPool', [x], 'maxpool', { ceil_mode: 0, kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [2, 2] });
  const basic = (p: string, x: string, cin: number, cout: number, stride: number) => {
    let y = n.op('Relu', [n.bn(`${p}.bn1`, n.conv(`${p}.conv1`, x, cin, cout, 3, { strides: [stride, stride] }), cout)], `${p}/relu`);
    y = n.bn(`${p}.bn2`, n.conv(`${p}.conv2`, y, cout, cout, 3), cout);
    const short =
      stride === 1 && cin === cout ? x : n.bn(`${p}.downsample.1`, n.conv(`${p}.downsample.0`, x, cin, cout, 1, { strides: [stride, stride] }), cout);
    return n.op('Relu', [n.op('Add', [y, short], p)], `${p}/relu_1`);
  };
  x = basic('layer1.0', x, 8, 8, 1);
  x = basic('layer2.0', x, 8, 16, 2);
  // Bottleneck (ResNet-50): 1×1 reduce, 3×3, 1×1 expand ×4, projection shortcut.
  const p = 'layer3.0';
  let y = n.op('Relu', [n.bn(`${p}.bn1`, n.conv(`${p}.conv1`, x, 16, 8, 1), 8)], `${p}/relu`);
  y = n.op('Relu', [n.bn(`${p}.bn2`, n.conv(`${p}.conv2`, y, 8, 8, 3, { strides: [2, 2] }), 8)], `${p}/relu_1`);
  y = n.bn(`${p}.bn3`, n.conv(`${p}.conv3`, y, 8, 32, 1), 32);
  const short = n.bn(`${p}.downsample.1`, n.conv(`${p}.downsample.0`, x, 16, 32, 1, { strides: [2, 2] }), 32);
  x = n.op('Relu', [n.op('Add', [y, short], p)], `${p}/relu_2`);
  n.head(x, 32, 10);
  return finish(b, 'input', [2, 3, 32, 32]);
}

/** MobileNetV2 inverted residuals (ReLU6 = Clip) and MobileNetV3 blocks (HardSwish, SE with HardSigmoid). */
export function mobilenetOnnx(seed = 2): BuiltModel {
  const b = new OnnxBuilder(17, 'mobilenet');
  const n = new Net(b, seed);
  b.input('input', ['N', 3, 32, 32]);
  const six = n.scalar('six', 6),
    zero = n.scalar('zero', 0);
  const relu6 = (x: string, name: string) => n.op('Clip', [x, zero, six], name);
  let x = relu6(n.bn('features.0.1', n.conv('features.0.0', 'input', 3, 8, 3, { strides: [2, 2] }), 8), 'features.0.2');
  // V2: expand 1×1 → depthwise 3×3 → project 1×1, residual.
  let y = relu6(n.bn('features.1.conv.0.1', n.conv('features.1.conv.0.0', x, 8, 24, 1), 24), 'features.1.conv.0.2');
  y = relu6(n.bn('features.1.conv.1.1', n.conv('features.1.conv.1.0', y, 24, 24, 3, { group: 24 }), 24), 'features.1.conv.1.2');
  y = n.bn('features.1.conv.3', n.conv('features.1.conv.2', y, 24, 8, 1), 8);
  x = n.op('Add', [x, y], 'features.1');
  // V3: HardSwish expand, depthwise 5×5 stride 2, squeeze-excitation (ReLU, HardSigmoid), project.
  const hs = (x: string, name: string) => n.op('HardSwish', [x], name);
  y = hs(n.bn('features.2.block.0.1', n.conv('features.2.block.0.0', x, 8, 16, 1), 16), 'features.2.block.0.2');
  y = hs(n.bn('features.2.block.1.1', n.conv('features.2.block.1.0', y, 16, 16, 5, { group: 16, strides: [2, 2] }), 16), 'features.2.block.1.2');
  let se = n.op('GlobalAveragePool', [y], 'features.2.block.2.avgpool');
  se = n.op('Relu', [n.conv('features.2.block.2.fc1', se, 16, 8, 1, {}, true)], 'features.2.block.2.relu');
  se = n.op('HardSigmoid', [n.conv('features.2.block.2.fc2', se, 8, 16, 1, {}, true)], 'features.2.block.2.scale_activation', { alpha: { f: 1 / 6 } });
  y = n.op('Mul', [se, y], 'features.2.block.2');
  x = n.bn('features.2.block.3.1', n.conv('features.2.block.3.0', y, 16, 12, 1), 12);
  x = hs(n.bn('features.3.1', n.conv('features.3.0', x, 12, 24, 1), 24), 'features.3.2');
  x = n.op('GlobalAveragePool', [x], 'avgpool');
  x = n.op('Flatten', [x], 'flatten', { axis: 1 });
  x = hs(n.gemm('classifier.0', x, 24, 32), 'classifier.1');
  n.gemm('classifier.3', x, 32, 10, 'logits');
  return finish(b, 'input', [2, 3, 32, 32]);
}

/** EfficientNet-B0's MBConv: SiLU as Sigmoid·Mul, squeeze-excitation with a broadcasting Mul, residual. */
export function efficientnetOnnx(seed = 3): BuiltModel {
  const b = new OnnxBuilder(17, 'efficientnet');
  const n = new Net(b, seed);
  b.input('input', ['N', 3, 32, 32]);
  const silu = (x: string, name: string) => n.op('Mul', [x, n.op('Sigmoid', [x], name)], name);
  let x = silu(n.bn('features.0.1', n.conv('features.0.0', 'input', 3, 8, 3, { strides: [2, 2] }), 8), 'features.0.2');
  const mbconv = (p: string, x: string, c: number, expand: number, k: number, stride: number, cout: number) => {
    const e = c * expand;
    let y = silu(n.bn(`${p}.block.0.1`, n.conv(`${p}.block.0.0`, x, c, e, 1), e), `${p}.block.0.2`);
    y = silu(n.bn(`${p}.block.1.1`, n.conv(`${p}.block.1.0`, y, e, e, k, { group: e, strides: [stride, stride] }), e), `${p}.block.1.2`);
    let se = n.op('GlobalAveragePool', [y], `${p}.block.2.avgpool`);
    se = silu(n.conv(`${p}.block.2.fc1`, se, e, Math.max(1, c / 4), 1, {}, true), `${p}.block.2.activation`);
    se = n.op('Sigmoid', [n.conv(`${p}.block.2.fc2`, se, Math.max(1, c / 4), e, 1, {}, true)], `${p}.block.2.scale_activation`);
    y = n.op('Mul', [se, y], `${p}.block.2`);
    y = n.bn(`${p}.block.3.1`, n.conv(`${p}.block.3.0`, y, e, cout, 1), cout);
    return stride === 1 && c === cout ? n.op('Add', [y, x], p) : y;
  };
  x = mbconv('features.1.0', x, 8, 4, 3, 1, 8);
  x = mbconv('features.2.0', x, 8, 4, 5, 2, 16);
  x = silu(n.bn('features.3.1', n.conv('features.3.0', x, 16, 32, 1), 32), 'features.3.2');
  n.head(x, 32, 10);
  return finish(b, 'input', [2, 3, 32, 32]);
}

/**
 * ConvNeXt: 4×4 stride-4 stem, channels-last LayerNorm (Permute, LN, Permute), a block (7×7
 * depthwise, Permute, LN, Linear 4×, GELU, Linear, Permute, layer scale, residual), a downsampling
 * LN + 2×2 conv, the head's LayerNorm2d. `opset` 17 writes LayerNormalization; 14 its decomposition
 * (ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add), as torch.onnx.export does.
 */
export function convnextOnnx(seed = 4, opset: 14 | 17 = 17): BuiltModel {
  const b = new OnnxBuilder(opset, `convnext-${opset}`);
  const n = new Net(b, seed);
  b.input('input', ['N', 3, 32, 32]);
  const ln = (p: string, x: string, c: number) => n.layerNorm(p, x, c, opset);
  const toLast = (x: string, name: string) => n.op('Transpose', [x], name, { perm: [0, 2, 3, 1] });
  const toFirst = (x: string, name: string) => n.op('Transpose', [x], name, { perm: [0, 3, 1, 2] });
  const ln2d = (p: string, x: string, c: number) => toFirst(ln(p, toLast(x, `${p}/in`), c), `${p}/out`);
  const linear = (p: string, x: string, cin: number, cout: number) => n.linear(p, x, cin, cout);
  const gelu = (x: string, p: string) => n.gelu(x, p);
  const block = (p: string, x: string, c: number) => {
    let y = n.conv(`${p}.block.0`, x, c, c, 7, { group: c }, true);
    y = ln(`${p}.block.2`, toLast(y, `${p}.block.1`), c);
    y = linear(`${p}.block.5`, gelu(linear(`${p}.block.3`, y, c, 4 * c), `${p}.block.4`), 4 * c, c);
    y = toFirst(y, `${p}.block.6`);
    y = n.op('Mul', [n.w.small(`${p}.layer_scale`, [c, 1, 1], 0.3, 0.5), y], `${p}/scale`);
    return n.op('Add', [y, x], p);
  };
  let x = n.conv('features.0.0', 'input', 3, 8, 4, { strides: [4, 4], pads: [0, 0, 0, 0] }, true);
  x = ln2d('features.0.1', x, 8);
  x = block('features.1.0', x, 8);
  x = n.conv('features.2.1', ln2d('features.2.0', x, 8), 8, 16, 2, { strides: [2, 2], pads: [0, 0, 0, 0] }, true);
  x = block('features.3.0', x, 16);
  x = n.op('GlobalAveragePool', [x], 'avgpool');
  x = n.op('Flatten', [ln2d('classifier.0', x, 16)], 'classifier.1', { axis: 1 });
  n.gemm('classifier.2', x, 16, 10, 'logits');
  return finish(b, 'input', [2, 3, 32, 32]);
}

/**
 * A feature-pyramid head: F.interpolate(scale_factor=2, mode='nearest') (Resize, asymmetric,
 * floor), mode='bilinear' to a size (pytorch_half_pixel), align_corners=True, half_pixel with
 * non-integer scales, a lateral Add — and a classifier on top.
 */
export function resizeOnnx(seed = 5): BuiltModel {
  const b = new OnnxBuilder(13, 'resize');
  const n = new Net(b, seed);
  b.input('input', ['N', 3, 32, 32]);
  const empty = b.init('roi', [0], []);
  const scales = (v: number[]) => b.init(`scales_${v.join('_')}`, [4], v);
  const c1 = n.op('Relu', [n.conv('c1', 'input', 3, 8, 3, { strides: [2, 2] }, true)], 'c1'); // 16×16
  const c2 = n.op('Relu', [n.conv('c2', c1, 8, 8, 3, { strides: [2, 2] }, true)], 'c2'); // 8×8
  const up = n.op('Resize', [c2, empty, scales([1, 1, 2, 2])], 'up_nearest', {
    coordinate_transformation_mode: 'asymmetric',
    cubic_coeff_a: { f: -0.75 },
    mode: 'nearest',
    nearest_mode: 'floor',
  });
  let x = n.op('Add', [up, c1], 'lateral');
  // size=(24, 24): the exporter concatenates the input's N, C (Shape → Slice) with the size.
  const nc = b.node(
    'Slice',
    [
      b.node('Shape', [x], {}, ['/Shape_output_0']),
      b.init('s0', [1], [0], { type: INT64 }),
      b.init('s2', [1], [2], { type: INT64 }),
      b.init('s_ax', [1], [0], { type: INT64 }),
    ],
    {},
    ['/Slice_output_0'],
  );
  const sizes = b.node('Concat', [nc, b.init('hw', [2], [24, 24], { type: INT64 })], { axis: 0 }, ['/Concat_output_0']);
  x = n.op('Resize', [x, empty, b.init('no_scales', [0], []), sizes], 'up_bilinear', {
    coordinate_transformation_mode: 'pytorch_half_pixel',
    mode: 'linear',
    nearest_mode: 'floor',
  });
  x = n.op('Resize', [x, empty, scales([1, 1, 0.75, 0.5])], 'down_align', { coordinate_transformation_mode: 'align_corners', mode: 'linear' });
  x = n.op('Resize', [x, empty, scales([1, 1, 1.5, 2.5])], 'up_half_pixel', {
    coordinate_transformation_mode: 'half_pixel',
    mode: 'nearest',
    nearest_mode: 'round_prefer_ceil',
  });
  x = n.op('Relu', [n.conv('c3', x, 8, 8, 3, {}, true)], 'c3');
  n.head(x, 8, 10);
  return finish(b, 'input', [2, 3, 32, 32], ['/Shape_output_0', '/Slice_output_0', '/Concat_output_0']);
}

/**
 * torchvision's VisionTransformer (8×8 patches of a 32×32 image: a 4×4 grid, 16 channels, 2 heads,
 * 2 encoder layers) as torch.onnx.export writes it: the class token expanded to the batch through
 * Shape/ConstantOfShape/Equal/Where/Expand, nn.MultiheadAttention on [T, N, C] (in-projection,
 * the Q/K/V split by Reshape/Unsqueeze/Transpose/Squeeze/Gather, heads as [N·H, T, d] and
 * [N, H, T, d], the scale as two √ factors, Softmax, the output projection as Gemm on [T·N, C]),
 * the MLP with GELU as Erf, and the head on the class token (Gather on the token axis).
 */
export function vitOnnx(seed = 6, opset: 14 | 17 = 17, batch: 'N' | 1 = 'N', style: 'torchvision' | 'timm' = 'torchvision'): BuiltModel {
  const b = new OnnxBuilder(opset, `vit-${opset}`);
  const n = new Net(b, seed);
  const C = 16,
    H = 2,
    d = C / H,
    grid = 4,
    T = grid * grid + 1;
  b.input('input', [batch, 3, 32, 32]);
  const i64 = (name: string, v: number[]) => b.init(name, [v.length], v, { type: INT64 });
  const scalar64 = (name: string, v: number) => b.init(name, [], [v], { type: INT64 });
  const dimOf = (x: string, axis: number, p: string) =>
    b.node(
      'Unsqueeze',
      [
        b.node('Gather', [b.node('Shape', [x], {}, [`${p}/Shape_output_0`]), scalar64(`${p}.axis`, axis)], { axis: 0 }, [`${p}/Gather_output_0`]),
        i64(`${p}.u`, [0]),
      ],
      {},
      [`${p}/Unsqueeze_output_0`],
    );
  const shapeOf = (p: string, parts: string[]) => b.node('Concat', parts, { axis: 0 }, [`${p}/Concat_output_0`]);
  const ints: string[] = [];
  const track = (...names: string[]) => ints.push(...names);

  // Patch embedding and tokens [N, C, 16] → [N, 16, C].
  let x = n.conv('conv_proj', 'input', 3, C, 8, { strides: [8, 8], pads: [0, 0, 0, 0] }, true);
  const nDim = dimOf('input', 0, '/batch');
  track('/batch/Shape_output_0', '/batch/Gather_output_0', nDim);
  const flatShape = shapeOf('/flat', [nDim, i64('hidden', [C]), i64('patches', [grid * grid])]);
  track(flatShape);
  x = n.op('Transpose', [n.op('Reshape', [x, flatShape], 'embed')], 'embed', { perm: [0, 2, 1] });
  // class_token.expand(n, -1, -1)
  const want = shapeOf('/expand', [nDim, i64('m1a', [-1]), i64('m1b', [-1])]);
  const ones = b.node(
    'ConstantOfShape',
    [b.node('Shape', [want], {}, ['/expand/Shape_output_0'])],
    { value: { t: { name: 'one', dims: [1], data: [1], type: INT64 } } },
    ['/expand/ConstantOfShape_output_0'],
  );
  const minus = b.node('Mul', [ones, scalar64('minus_one', -1)], {}, ['/expand/Mul_output_0']);
  const eq = b.node('Equal', [want, minus], {}, ['/expand/Equal_output_0']);
  const target = b.node('Where', [eq, ones, want], {}, ['/expand/Where_output_0']);
  track(want, '/expand/Shape_output_0', ones, minus, target);
  const cls = b.node('Expand', [n.w.small('class_token', [1, 1, C], 0.5), target], {}, ['/Expand_output_0']);
  x = n.op('Concat', [cls, x], 'tokens', { axis: 1 });
  x = n.op('Add', [x, n.w.small('encoder.pos_embedding', [1, T, C], 0.5)], 'encoder');
  const scale = n.scalar('sqrt_scale', Math.sqrt(1 / Math.sqrt(d)));
  /**
   * timm's Attention: qkv Linear on [N, T, C], reshape to [N, T, 3, H, d], permute(2, 0, 3, 1, 4)
   * to [3, N, H, T, d] (the batch on axis 1), Split into q, k, v and Squeeze, then SDPA as MatMul,
   * Softmax, MatMul, transpose(1, 2) and reshape back to [N, T, C], the out-projection.
   */
  const timmAttention = (p: string, y: string) => {
    const nD = dimOf(y, 0, `${p}/n`),
      tD = dimOf(y, 1, `${p}/tt`);
    track(`${p}/n/Shape_output_0`, `${p}/n/Gather_output_0`, nD, `${p}/tt/Shape_output_0`, `${p}/tt/Gather_output_0`, tD);
    const qkv = n.linear(`${p}.attn.qkv`, y, C, 3 * C);
    const five = shapeOf(`${p}/five`, [nD, tD, i64(`${p}.3`, [3]), i64(`${p}.H`, [H]), i64(`${p}.d5`, [d])]);
    track(five);
    const moved = b.tensors.length;
    const perm = n.op('Transpose', [n.op('Reshape', [qkv, five], `${p}/qkv`)], `${p}/qkv`, { perm: [2, 0, 3, 1, 4] });
    b.node('Split', [perm, i64(`${p}.split`, [1, 1, 1])], { axis: 0 }, [`${p}/q5`, `${p}/k5`, `${p}/v5`], `${p}/Split`);
    const sq = (t: string, w: string) => b.node('Squeeze', [t, i64(`${p}.sq_${w}`, [0])], {}, [`${p}/${w}/Squeeze_output_0`]);
    b.tensors.splice(moved, b.tensors.length - moved);
    const q = n.op('Mul', [sq(`${p}/q5`, 'q'), scale], `${p}/q`);
    const k = n.op('Mul', [n.op('Transpose', [sq(`${p}/k5`, 'k')], `${p}/kt`, { perm: [0, 1, 3, 2] }), scale], `${p}/k`);
    const attn = n.op('Softmax', [n.op('MatMul', [q, k], `${p}/scores`)], `${p}/attn`, { axis: -1 });
    const mixed = n.op('Transpose', [n.op('MatMul', [attn, sq(`${p}/v5`, 'v')], `${p}/mix`)], `${p}/mix`, { perm: [0, 2, 1, 3] });
    const back = shapeOf(`${p}/back3`, [nD, tD, i64(`${p}.C3`, [C])]);
    track(back);
    return n.linear(`${p}.attn.proj`, n.op('Reshape', [mixed, back], `${p}/merge`), C, C);
  };
  for (let li = 0; li < 2; li++) {
    const p = `encoder.layers.encoder_layer_${li}`;
    let y = n.layerNorm(`${p}.ln_1`, x, C, opset);
    if (style === 'timm') {
      x = n.op('Add', [x, timmAttention(p, y)], p);
    } else {
      // nn.MultiheadAttention (batch_first=False): [N, T, C] → [T, N, C].
      const moved = b.tensors.length;
      y = n.op('Transpose', [y], `${p}/self_attention`, { perm: [1, 0, 2] });
      const tDim = dimOf(y, 0, `${p}/t`),
        bDim = dimOf(y, 1, `${p}/b`);
      track(`${p}/t/Shape_output_0`, `${p}/t/Gather_output_0`, tDim, `${p}/b/Shape_output_0`, `${p}/b/Gather_output_0`, bDim);
      const qkv = n.linear(`${p}.self_attention.in_proj`, y, C, 3 * C, true);
      const split = shapeOf(`${p}/split`, [tDim, bDim, i64(`${p}.three`, [3]), i64(`${p}.c`, [C])]);
      track(split);
      let s = n.op('Reshape', [qkv, split], `${p}/split`);
      s = n.op('Unsqueeze', [s, i64(`${p}.u0`, [0])], `${p}/split`);
      s = n.op('Transpose', [s], `${p}/split`, { perm: [3, 1, 2, 0, 4] });
      s = n.op('Squeeze', [s, i64(`${p}.sq`, [-2])], `${p}/split`);
      const nh = b.node('Mul', [bDim, i64(`${p}.heads`, [H])], {}, [`${p}/nh/Mul_output_0`]);
      track(nh);
      const heads = shapeOf(`${p}/heads`, [tDim, nh, i64(`${p}.d`, [d])]);
      const fourD = shapeOf(`${p}/four`, [bDim, i64(`${p}.h`, [H]), i64(`${p}.tt`, [T]), i64(`${p}.dd`, [d])]);
      track(heads, fourD);
      const part = (k: number, what: string) => {
        const g = b.node('Gather', [s, scalar64(`${p}.${what}`, k)], { axis: 0 }, [`${p}/${what}/Gather_output_0`]);
        const r = n.op('Transpose', [n.op('Reshape', [g, heads], `${p}/${what}`)], `${p}/${what}`, { perm: [1, 0, 2] });
        return n.op('Reshape', [r, fourD], `${p}/${what}4`);
      };
      const q = n.op('Mul', [part(0, 'q'), scale], `${p}/q`);
      const k = n.op('Mul', [n.op('Transpose', [part(1, 'k')], `${p}/kt`, { perm: [0, 1, 3, 2] }), scale], `${p}/k`);
      const v = part(2, 'v');
      const attn = n.op('Softmax', [n.op('MatMul', [q, k], `${p}/scores`)], `${p}/attn`, { axis: -1 });
      let o = n.op('Transpose', [n.op('MatMul', [attn, v], `${p}/mix`)], `${p}/mix`, { perm: [2, 0, 1, 3] });
      const rows = b.node('Mul', [tDim, bDim], {}, [`${p}/rows/Mul_output_0`]);
      track(rows);
      const flat = shapeOf(`${p}/rows`, [rows, i64(`${p}.cc`, [C])]);
      const back = shapeOf(`${p}/back`, [tDim, bDim, i64(`${p}.c2`, [C])]);
      track(flat, back);
      o = n.gemm(`${p}.self_attention.out_proj`, n.op('Reshape', [o, flat], `${p}/rows`), C, C);
      o = n.op('Reshape', [o, back], `${p}/back`);
      // Tensors with the batch moved are not graph outputs (deepvis refuses those); they are compared through what follows.
      b.tensors.splice(moved, b.tensors.length - moved);
      o = n.op('Transpose', [o], `${p}/back`, { perm: [1, 0, 2] });
      x = n.op('Add', [o, x], p);
    }
    y = n.layerNorm(`${p}.ln_2`, x, C, opset);
    y = n.linear(`${p}.mlp.3`, n.gelu(n.linear(`${p}.mlp.0`, y, C, 2 * C, true), `${p}/mlp.1`), 2 * C, C, true);
    x = n.op('Add', [x, y], `${p}/out`);
  }
  x = n.layerNorm('encoder.ln', x, C, opset);
  x = b.node('Gather', [x, scalar64('cls_index', 0)], { axis: 1 }, ['/Gather_output_0']);
  n.gemm('heads.head', x, C, 10, 'logits');
  b.tensors.splice(b.tensors.indexOf(eq), 1); // a bool tensor: not a graph output of the reference run
  return finish(b, 'input', [2, 3, 32, 32], ints);
}

/**
 * A Keras CNN as tf2onnx converts it: the TensorFlow input N×H×W×C transposed to N×C×H×W for
 * the convolutions, back to channels-last for the head (ReduceMean over H, W; MatMul; Softmax).
 */
export function tf2onnxCnn(seed = 8): BuiltModel {
  const b = new OnnxBuilder(13, 'tf2onnx');
  const n = new Net(b, seed);
  b.input('input_1', ['unk__12', 32, 32, 3]);
  let x = b.node('Transpose', ['input_1'], { perm: [0, 3, 1, 2] }, ['model/conv1/Conv2D__6:0']);
  x = n.op('Relu', [n.conv('model/conv1', x, 3, 8, 3, { strides: [2, 2] }, true)], 'model/conv1');
  x = n.op('Relu', [n.conv('model/conv2', x, 8, 8, 3, {}, true)], 'model/conv2');
  x = b.node('Transpose', [x], { perm: [0, 2, 3, 1] }, ['model/conv2/Relu:0']);
  x = b.node('ReduceMean', [x], { axes: [1, 2], keepdims: 0 }, ['model/gap/Mean:0']);
  x = b.node(
    'Add',
    [
      b.node('MatMul', [x, n.w.he('model/dense/MatMul/ReadVariableOp:0', [8, 10], 8)], {}, ['model/dense/MatMul:0']),
      n.w.small('model/dense/BiasAdd/ReadVariableOp:0', [10]),
    ],
    {},
    ['logits'],
  );
  b.node('Softmax', [x], { axis: -1 }, ['prob']);
  return finish(b, 'input_1', [2, 32, 32, 3]);
}

export const FAMILIES: Record<string, () => BuiltModel> = {
  resnet: () => resnetOnnx(),
  mobilenet: () => mobilenetOnnx(),
  efficientnet: () => efficientnetOnnx(),
  'convnext (LayerNormalization, opset 17)': () => convnextOnnx(4, 17),
  'convnext (decomposed LayerNorm, opset 14)': () => convnextOnnx(4, 14),
  'resize (feature pyramid)': () => resizeOnnx(),
  'vit (LayerNormalization, opset 17)': () => vitOnnx(6, 17),
  'vit (decomposed LayerNorm, opset 14)': () => vitOnnx(6, 14),
  "vit (timm's attention: permute(2, 0, 3, 1, 4), Split)": () => vitOnnx(7, 17, 'N', 'timm'),
};
