/**
 * Today's network families (tests/helpers/onnx-families.ts: ResNet, MobileNetV2/V3, EfficientNet,
 * ConvNeXt and ViT in both LayerNorm forms, a Resize pyramid), built as torch.onnx.export writes them, run
 * by onnxruntime-node (the reference) and deepvis: every blob within 1e-4 of its largest value; the
 * input gradient of a class and of a hidden unit agrees with central differences; the receptive
 * fields of ConvNeXt's block outputs are those of its convolutions (the channels-last Linear
 * layers between them do not mix positions).
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../pipeline/engine/backend.ts';
import { createNet } from '../pipeline/engine/net/build.ts';
import { nchwToLayout } from '../pipeline/engine/net/layout.ts';
import { defaultLayers } from '../pipeline/gallery/layers.ts';
import { withRandomWeights } from '../pipeline/import/random-weights.ts';
import { OnnxBuilder } from '../pipeline/io/onnx-writer.ts';
import { convnextOnnx, FAMILIES, resnetOnnx, tf2onnxCnn, vitOnnx } from './helpers/onnx-families.ts';
import { Weights } from './helpers/onnx-models.ts';
import { randn, rng } from './helpers/net-graph.ts';
import { deepvisRun, expectBlobsMatch, ortRun } from './helpers/onnx-reference.ts';

beforeAll(async () => {
  await initBackend('cpu');
});

describe.each(Object.entries(FAMILIES))('%s', (_name, build) => {
  const m = build();

  it('every blob onnxruntime computes agrees within 1e-4', async () => {
    const x = randn(
      rng(7),
      m.dims.reduce((a, d) => a * d, 1),
    );
    const ref = await ortRun(m.bytes, m.input, x, m.dims, m.tensors);
    const { blobs } = await deepvisRun(m.bytes, x, m.dims);
    const compared = expectBlobsMatch(blobs, ref);
    expect(compared).toBeGreaterThan(10);
    expect(blobs.has('logits')).toBe(true);
  });

  it('the input gradient of a class and of a hidden unit matches central differences', async () => {
    const { model } = await deepvisRun(m.bytes, new Float32Array(m.dims.reduce((a, d) => a * d, 1)), m.dims);
    const net = createNet(model);
    const hidden = model.graph.blobs.filter((b) => b.shape.length === 3 && b.shape[1] > 1).at(-1)!;
    const r = rng(11);
    const one = [1, ...m.dims.slice(1)] as [number, number, number, number];
    const x0 = nchwToLayout(
      randn(
        r,
        one.slice(1).reduce((a, d) => a * d, 1),
      ),
      one,
    );
    const shape = x0.shape as [number, number, number, number];
    const objectives: [string, (x: tf.Tensor) => tf.Scalar][] = [
      ['class 3', (x) => tf.sum(tf.slice(net.forward(x as tf.Tensor4D, ['logits']).logits, [0, 3], [1, 1]))],
      // The hidden blob's most active channel at its centre (tensor layout [N, H, W, C] for C×H×W blobs).
      [
        `${hidden.name}, the centre of its most active unit`,
        (x) => {
          const t = net.forward(x as tf.Tensor4D, [hidden.name])[hidden.name];
          const centre = tf.slice(t, [0, Math.floor(hidden.shape[1] / 2), Math.floor(hidden.shape[2] / 2), 0], [1, 1, 1, -1]);
          return tf.sum(tf.mul(centre, tf.oneHot(tf.argMax(tf.reshape(centre, [-1])), hidden.shape[0])));
        },
      ],
    ];
    for (const [what, f] of objectives) {
      const g = await tf.grad(f)(tf.tensor4d(x0.data, shape)).data();
      const gmax = Math.max(...Array.from(g, Math.abs));
      expect(gmax, what).toBeGreaterThan(0);
      // Points where the gradient is large, and random ones.
      const order = Array.from(g.keys()).sort((a, b) => Math.abs(g[b]) - Math.abs(g[a]));
      const points = [...order.slice(0, 3), ...Array.from({ length: 3 }, () => Math.floor(r() * g.length))];
      const eps = 1e-2;
      for (const i of points) {
        const at = (d: number) => {
          const v = x0.data.slice();
          v[i] += d;
          return tf.tidy(() => f(tf.tensor4d(v, shape)).dataSync()[0]);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        expect(Math.abs(fd - g[i]) / gmax, `${what}, input ${i}: ${fd} vs ${g[i]}`).toBeLessThan(2e-2);
      }
    }
    net.dispose();
  });
});

describe('ConvNeXt receptive fields', () => {
  it('a block output sees its 7×7 depthwise window on the stride-4 grid, in both LayerNorm forms', async () => {
    for (const opset of [17, 14] as const) {
      const m = convnextOnnx(4, opset);
      const { model } = await deepvisRun(m.bytes, new Float32Array(2 * 3 * 32 * 32), m.dims);
      const blob = (name: string) => model.graph.blobs.find((b) => b.name === name)!;
      // Stem: 4×4 stride 4. Block: 7×7 depthwise on that grid → 4 + 6·4 = 28 pixels, offset −12.
      expect(blob('/features.0.0/Conv_output_0').rf).toEqual({ size: [4, 4], stride: [4, 4], offset: [0, 0] });
      const out = blob('/features.1.0/Add_output_0');
      expect(out.shape).toEqual([8, 8, 8]);
      expect(out.rf).toEqual({ size: [28, 28], stride: [4, 4], offset: [-12, -12] });
      expect(out.grid).toBeUndefined();
      // The channels-last view inside the block keeps the field, its grid on axes 0 and 1.
      const inner = blob(opset === 17 ? '/features.1.0.block.2/LayerNormalization_output_0' : '/features.1.0.block.2/Add_output_0');
      expect(inner.shape).toEqual([8, 8, 8]);
      expect(inner.grid).toEqual([0, 1]);
      expect(inner.rf).toEqual(out.rf);
      // Second stage: 2×2 stride-2 downsampling, then a 7×7 depthwise on the stride-8 grid.
      expect(blob('/features.3.0/Add_output_0').rf).toEqual({ size: [28 + 4 + 6 * 8, 28 + 4 + 6 * 8], stride: [8, 8], offset: [-12 - 24, -12 - 24] });
    }
  });
});

describe('units of token layers and default gallery layers', () => {
  const load = async (m: ReturnType<typeof vitOnnx>) => (await deepvisRun(m.bytes, new Float32Array(2 * 3 * 32 * 32), m.dims)).model;

  it("ViT: each block output is offered as C channels over the 4×4 patch grid, the embedding's units see their patch", async () => {
    const model = await load(vitOnnx(6, 17));
    const blob = (name: string) => model.graph.blobs.find((b) => b.name === name)!;
    const tokens = blob('/encoder/Add_output_0');
    expect(tokens.shape).toEqual([17, 16]);
    expect(tokens.tokens).toEqual({ axis: 0, first: 1, grid: [4, 4] });
    const embed = blob('/encoder/Add_output_0/grid');
    expect(embed.shape).toEqual([16, 4, 4]);
    // Grid position (y, x) is patch (y, x): 8×8 pixels at (8y, 8x).
    expect(embed.rf).toEqual({ size: [8, 8], stride: [8, 8], offset: [0, 0] });
    // After attention every token has seen the whole image.
    const block = blob('/encoder.layers.encoder_layer_0/Add_output_0/grid');
    expect(block.shape).toEqual([16, 4, 4]);
    expect(block.rf).toEqual({ size: [32, 32], stride: [32, 32], offset: [0, 0] });
    expect(defaultLayers(model)).toEqual([
      '/encoder/Add_output_0/grid',
      '/encoder.layers.encoder_layer_0/Add_output_0/grid',
      '/encoder.layers.encoder_layer_0/out/Add_output_0/grid',
      '/encoder.layers.encoder_layer_1/Add_output_0/grid',
      '/encoder.layers.encoder_layer_1/out/Add_output_0/grid',
      '/encoder.ln/LayerNormalization_output_0/grid',
      '/encoder.ln/LayerNormalization_output_0/class',
      'logits',
    ]);
    // The final norm's class token, apart: its 16 channels on a 1×1 grid that sees the whole image.
    const cls = blob('/encoder.ln/LayerNormalization_output_0/class');
    expect(cls.shape).toEqual([16, 1, 1]);
    expect(cls.rf.size).toEqual([32, 32]);
    // The view's values are the grid tokens, channel by channel; the class view's token 0.
    const net = createNet(model);
    const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
    const fin = net.forward(x, ['/encoder.ln/LayerNormalization_output_0', '/encoder.ln/LayerNormalization_output_0/class']);
    const ft = (await fin['/encoder.ln/LayerNormalization_output_0'].data()) as Float32Array;
    const fc = (await fin['/encoder.ln/LayerNormalization_output_0/class'].data()) as Float32Array;
    for (let c = 0; c < 16; c++) expect(fc[c]).toBe(ft[c * 17]);
    tf.dispose(Object.values(fin));
    const out = net.forward(x, ['/encoder/Add_output_0', '/encoder/Add_output_0/grid']);
    const t = (await out['/encoder/Add_output_0'].data()) as Float32Array; // [N, C, T] (channels-last of [T, C])
    const g = (await out['/encoder/Add_output_0/grid'].data()) as Float32Array; // [N, 4, 4, C]
    for (const [y, xx, c] of [
      [0, 0, 0],
      [1, 2, 5],
      [3, 3, 15],
    ])
      expect(g[(y * 4 + xx) * 16 + c]).toBe(t[c * 17 + 1 + y * 4 + xx]);
    net.dispose();
    x.dispose();
  });

  it('ResNet: the block outputs after their ReLU; ConvNeXt: the residual sums and downsampling convolutions', async () => {
    const resnet = await load(resnetOnnx());
    expect(defaultLayers(resnet)).toEqual([
      '/conv1/Conv_output_0',
      '/layer1.0/relu_1/Relu_output_0',
      '/layer2.0/relu_1/Relu_output_0',
      '/layer3.0/relu_2/Relu_output_0',
      'logits',
    ]);
    const convnext = await load(convnextOnnx(4, 17));
    expect(defaultLayers(convnext)).toEqual([
      '/features.0.0/Conv_output_0',
      '/features.1.0/Add_output_0',
      '/features.2.1/Conv_output_0',
      '/features.3.0/Add_output_0',
      'logits',
    ]);
  });
});

describe('refusals', () => {
  it('attention exported with a fixed batch of 1 is a one-line error asking for a dynamic batch axis', async () => {
    const m = vitOnnx(6, 17, 1);
    await expect(deepvisRun(m.bytes, new Float32Array(3 * 32 * 32), [1, 3, 32, 32])).rejects.toThrow(
      /node "[^"]+" \(Reshape\): reshaping \[17,1,48\] to \[17,1,3,16\]: .* ambiguous \(export the model with a dynamic batch axis\)$/,
    );
  });
});

describe('--random-weights on an imported model', () => {
  it("redraws the learned weights (same seed, same weights) and keeps the architecture's constants", async () => {
    const m = vitOnnx(6, 17);
    const { model } = await deepvisRun(m.bytes, new Float32Array(2 * 3 * 32 * 32), m.dims);
    const a = withRandomWeights(model, 3),
      b = withRandomWeights(model, 3),
      c = withRandomWeights(model, 4);
    expect(a.randomWeights).toBe(3);
    const kinds = new Map(model.graph.layers.map((l) => [l.name, l.kind]));
    let learned = 0,
      kept = 0;
    for (const [name, params] of model.graph.weights!) {
      const kind = kinds.get(name)!;
      const [pa, pb, pc] = [a, b, c].map((x) => x.graph.weights!.get(name)!);
      expect(pa.map((p) => p.shape)).toEqual(params.map((p) => p.shape));
      expect(pa.map((p) => Array.from(p.data))).toEqual(pb.map((p) => Array.from(p.data)));
      if (kind === 'conv' || kind === 'fc' || kind === 'matmul') {
        expect(Array.from(pa[0].data)).not.toEqual(Array.from(params[0].data));
        expect(Array.from(pa[0].data)).not.toEqual(Array.from(pc[0].data));
        learned++;
      } else if (kind === 'layernorm') {
        expect(pa[0].data.every((v) => v === 1)).toBe(true);
        learned++;
      } else {
        // Constants of the architecture (position embedding, class token, GELU's √2, scales): the file's.
        pa.forEach((p, i) => expect(p, name).toBe(params[i]));
        kept++;
      }
    }
    expect(learned).toBeGreaterThan(10);
    expect(kept).toBeGreaterThan(5);
    // The network still runs, and differently from the file's weights.
    const x = tf.randomNormal([1, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
    const [fromFile, random] = [model, a].map((mm) => {
      const net = createNet(mm);
      const y = Array.from(net.forward(x, ['logits']).logits.dataSync());
      net.dispose();
      return y;
    });
    expect(random.every(Number.isFinite)).toBe(true);
    expect(random).not.toEqual(fromFile);
    x.dispose();
  });
});

describe('deconv and guided backprop through rectifying activations', () => {
  /** Convolutions with HardSwish, GELU (opset 20) and SiLU (x · Sigmoid(x)) between them. */
  function rectifierNet(): Uint8Array {
    const b = new OnnxBuilder(20, 'rectifiers');
    const w = new Weights(12, b);
    b.input('input', ['N', 3, 8, 8]);
    const conv = (name: string, x: string, cin: number) =>
      b.node('Conv', [x, w.he(`${name}.w`, [4, cin, 3, 3], cin * 9), w.small(`${name}.b`, [4])], { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, [name]);
    let x = b.node('HardSwish', [conv('c1', 'input', 3)], {}, ['hs']);
    x = b.node('Gelu', [conv('c2', x, 4)], {}, ['gelu']);
    const c3 = conv('c3', x, 4);
    x = b.node('Mul', [c3, b.node('Sigmoid', [c3], {}, ['sig'])], {}, ['silu']);
    conv('out', x, 4);
    b.output('out');
    return b.bytes();
  }

  it('HardSwish, GELU and SiLU (fused at import) follow the ReLU rules: the input gradients of the net with ReLUs in their place', async () => {
    const { model } = await deepvisRun(rectifierNet(), new Float32Array(2 * 3 * 8 * 8), [2, 3, 8, 8]);
    const fns = model.graph.layers.flatMap((l) => (l.kind === 'activation' ? [l.fn] : []));
    expect(fns).toEqual(['hardswish', 'gelu', 'swish']);
    const relus = {
      ...model,
      graph: {
        ...model.graph,
        layers: model.graph.layers.map((l) =>
          l.kind === 'activation' ? { kind: 'relu' as const, name: l.name, bottoms: l.bottoms, tops: l.tops, negativeSlope: 0 } : l,
        ),
      },
    };
    const x = tf.randomNormal([1, 8, 8, 3], 0, 1, 'float32', 9) as tf.Tensor4D;
    const grad = (mm: typeof model, mode: 'backprop' | 'deconv' | 'guided') => {
      const net = createNet(mm);
      const g = tf.grad((xi: tf.Tensor) => tf.sum(tf.slice(net.forward(xi as tf.Tensor4D, ['out'], { gradMode: mode }).out, [0, 4, 4, 0], [1, 1, 1, 1])))(x);
      const v = Array.from(g.dataSync());
      g.dispose();
      net.dispose();
      return v;
    };
    // Deconv ignores the forward pass at rectifiers: exactly the ReLU net's (the convolutions are linear).
    expect(grad(model, 'deconv')).toEqual(grad(relus, 'deconv'));
    // Guided also masks where a rectifier's input is negative: a third map, not the plain gradient.
    const guided = grad(model, 'guided');
    expect(guided.some((v) => v !== 0)).toBe(true);
    expect(guided).not.toEqual(grad(model, 'deconv'));
    expect(grad(model, 'backprop')).not.toEqual(grad(model, 'deconv'));
    expect(guided).not.toEqual(grad(model, 'backprop'));
    x.dispose();
  });
});

describe('tf2onnx exports', () => {
  it('a channels-last N×H×W×C input is the C×H×W image blob; every blob agrees with onnxruntime', async () => {
    const m = tf2onnxCnn();
    const [N, H, W, C] = m.dims;
    const nhwc = randn(rng(21), N * H * W * C);
    const ref = await ortRun(m.bytes, m.input, nhwc, m.dims, m.tensors);
    // deepvis takes the image in NCHW order.
    const nchw = new Float32Array(nhwc.length);
    for (let b = 0; b < N; b++)
      for (let y = 0; y < H; y++)
        for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) nchw[((b * C + c) * H + y) * W + x] = nhwc[((b * H + y) * W + x) * C + c];
    const { blobs, model } = await deepvisRun(m.bytes, nchw, [N, C, H, W]);
    expect(model.graph.input).toEqual({ blob: 'input_1', shape: [3, 32, 32] });
    const compared = expectBlobsMatch(blobs, ref);
    expect(compared).toBeGreaterThanOrEqual(6);
    // The conv blobs keep their receptive fields through the transposes.
    expect(model.graph.blobs.find((b) => b.name === '/model/conv2/Conv_output_0')?.rf).toEqual({ size: [7, 7], stride: [2, 2], offset: [-3, -3] });
  });
});
