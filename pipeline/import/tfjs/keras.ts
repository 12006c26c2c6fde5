import { UserError } from '../../core/errors.ts';
import { Emitter } from './emit.ts';
import * as K from './keras-layers.ts';
import type { KConverter, KerasCtx, KLayer } from './keras-layers.ts';
import type { NamedWeight } from './weights.ts';

/**
 * A TF.js Layers model (Keras topology: Sequential or functional Model, Keras 2 serialisation)
 * → layers of a Graph. The input is the model's (one) image input H×W×C → blob C×H×W.
 */

const CONVERTERS: Record<string, KConverter> = {
  Conv2D: K.conv2d,
  Convolution2D: K.conv2d,
  DepthwiseConv2D: K.depthwiseConv2d,
  SeparableConv2D: K.separableConv2d,
  SeparableConvolution2D: K.separableConv2d,
  Conv2DTranspose: K.conv2dTranspose,
  Dense: K.dense,
  MaxPooling2D: K.pooling('max'),
  MaxPool2D: K.pooling('max'),
  AveragePooling2D: K.pooling('ave'),
  AvgPool2D: K.pooling('ave'),
  GlobalAveragePooling2D: K.globalPooling('mean'),
  GlobalAvgPool2D: K.globalPooling('mean'),
  GlobalMaxPooling2D: K.globalPooling('max'),
  GlobalMaxPool2D: K.globalPooling('max'),
  BatchNormalization: K.batchNorm,
  LayerNormalization: K.layerNorm,
  Activation: K.activationLayer,
  ReLU: K.reluLayer,
  LeakyReLU: K.leakyRelu,
  ELU: K.eluLayer,
  Softmax: K.softmaxLayer,
  PReLU: K.preluLayer,
  Dropout: K.identityLayer,
  SpatialDropout2D: K.identityLayer,
  GaussianNoise: K.identityLayer,
  GaussianDropout: K.identityLayer,
  AlphaDropout: K.identityLayer,
  ActivityRegularization: K.identityLayer,
  Add: K.merge('sum'),
  Multiply: K.merge('prod'),
  Subtract: K.merge('sub'),
  Average: K.merge('avg'),
  Maximum: K.merge('max'),
  Minimum: K.merge('min'),
  Concatenate: K.concatenate,
  Flatten: K.flattenLayer,
  Reshape: K.reshapeLayer,
  Permute: K.permuteLayer,
  ZeroPadding2D: K.zeroPadding(1),
  Cropping2D: K.zeroPadding(-1),
  Rescaling: K.rescaling,
};

export const SUPPORTED_KERAS_LAYERS: readonly string[] = Object.keys(CONVERTERS).sort();

interface RawLayer {
  class_name: string;
  name?: string;
  config: Record<string, unknown>;
  inbound_nodes?: unknown[];
}

export interface KerasImport {
  em: Emitter;
  outputs: string[];
}

/** `model.json`'s modelTopology (or its `model_config`) → Emitter with every layer converted. */
export function convertKeras(
  topology: Record<string, unknown>,
  file: string,
  weights: Map<string, NamedWeight> | undefined,
  inputShape?: number[],
): KerasImport {
  const model = (topology.model_config ?? topology) as RawLayer;
  const em = new Emitter(file);
  const used = new Set<string>();
  const ctx: KerasCtx = {
    em,
    fail: (L, msg) => em.fail(L.name, L.className, msg),
    weight(L, kind, optional) {
      if (!weights) return undefined;
      for (const [name, w] of weights) {
        const cut = name.lastIndexOf('/');
        const prefix = name.slice(0, cut),
          k = name.slice(cut + 1).replace(/:\d+$/, '');
        if (k === kind && (prefix === L.name || prefix.endsWith(`/${L.name}`))) {
          used.add(name);
          return w;
        }
      }
      if (optional) return undefined;
      return em.fail(L.name, L.className, `weight "${L.name}/${kind}" is missing from the weights manifest`);
    },
  };

  const convert = (raw: RawLayer, inputs: string[]) => {
    const L: KLayer = { name: String(raw.name ?? raw.config.name), className: raw.class_name, config: raw.config };
    const f = CONVERTERS[L.className];
    if (!f) em.fail(L.name, L.className, 'layer type not supported (docs/import-onnx-tfjs.md lists the supported ones)');
    f(ctx, L, inputs, L.name);
  };

  const declareInput = (raw: RawLayer | undefined, name: string) => {
    const shape = (raw?.config.batch_input_shape ?? raw?.config.batchInputShape ?? raw?.config.batch_shape) as (number | null)[] | undefined;
    if (!shape) throw new UserError(`${file}: the model does not declare its input shape (batch_input_shape)`);
    const dims = shape.slice(1).map((d, i) => d ?? inputShape?.[[1, 2, 0][i] ?? i] ?? 0);
    if (dims.length !== 3) throw new UserError(`${file}: input "${name}" is [${shape.map((d) => d ?? 'null')}]; deepvis needs an image input [N, H, W, C]`);
    if (dims.some((d) => !(d > 0)))
      throw new UserError(
        `${file}: input "${name}" has unknown dimensions [${shape.map((d) => d ?? 'null')}]; give the input size (deepvis.json "inputShape": [C, H, W])`,
      );
    const [h, w, c] = dims;
    em.input(name, [c, h, w]);
  };

  const MODELS = new Set(['Sequential', 'Model', 'Functional']);
  /** The layer that declares a model's input shape: its first layer, or a nested model's InputLayer. */
  const innermostFirst = (raw: RawLayer): RawLayer => {
    if (!MODELS.has(raw.class_name)) return raw;
    const cfg = raw.config as unknown;
    const layers = (Array.isArray(cfg) ? cfg : (cfg as { layers: RawLayer[] }).layers) as RawLayer[];
    return layers?.length ? innermostFirst(layers[0]) : raw;
  };
  /**
   * Converts a (possibly nested) model's layers; returns its output blobs. A nested model (a
   * Keras application inside a Sequential or functional model) reads `input`, the outer blob its
   * InputLayer stands for; its layers keep their names (weights are matched by name).
   */
  const convertModel = (m: RawLayer, input?: string): string[] => {
    const kind = m.class_name;
    const alias = new Map<string, string>();
    const blob = (n: string) => alias.get(n) ?? n;
    const layer = (raw: RawLayer, inputs: string[]) => {
      const name = String(raw.name ?? raw.config.name);
      if (!MODELS.has(raw.class_name)) return convert(raw, inputs);
      if (inputs.length !== 1) em.fail(name, raw.class_name, `a nested model with ${inputs.length} inputs is not supported`);
      const outs = convertModel(raw, inputs[0]);
      if (outs.length !== 1) em.fail(name, raw.class_name, `a nested model with ${outs.length} outputs is not supported`);
      // The nested model's name is its output, as the outer layers refer to it.
      em.emit({ kind: 'identity', name: em.layerName(name), bottoms: [outs[0]], tops: [name] });
    };
    if (kind === 'Sequential') {
      const cfg = m.config as unknown;
      const layers = (Array.isArray(cfg) ? cfg : (cfg as { layers: RawLayer[] }).layers) as RawLayer[];
      if (!layers?.length) throw new UserError(`${file}: the Sequential model ${String(m.name ?? (m.config as { name?: string }).name ?? '')} has no layers`);
      let x: string;
      let rest = layers;
      if (layers[0].class_name === 'InputLayer') {
        x = input ?? String(layers[0].config.name);
        if (!input) declareInput(layers[0], x);
        rest = layers.slice(1);
      } else if (input) x = input;
      else {
        x = 'input';
        declareInput(innermostFirst(layers[0]), x);
      }
      for (const raw of rest) {
        layer(raw, [x]);
        x = String(raw.name ?? raw.config.name);
      }
      return [x];
    }
    if (kind === 'Model' || kind === 'Functional') {
      const cfg = m.config as { layers: RawLayer[]; input_layers: unknown[][]; output_layers: unknown[][] };
      if (cfg.input_layers.length !== 1) throw new UserError(`${file}: the model has ${cfg.input_layers.length} inputs; deepvis needs exactly one image input`);
      for (const raw of cfg.layers) {
        const name = String(raw.name ?? raw.config.name);
        if (raw.class_name === 'InputLayer') {
          if (input) alias.set(name, input);
          else declareInput(raw, name);
          continue;
        }
        const nodes = (raw.inbound_nodes ?? []) as unknown[][][];
        if (nodes.length !== 1) em.fail(name, raw.class_name, nodes.length ? 'a layer shared by several calls is not supported' : 'not connected');
        const inputs = nodes[0].map((ref) => {
          const [src, nodeIndex, tensorIndex] = ref as [string, number, number];
          if (nodeIndex !== 0 || tensorIndex !== 0)
            em.fail(name, raw.class_name, `input ${src}[${nodeIndex}][${tensorIndex}] is not supported (single-call, single-output layers only)`);
          return blob(src);
        });
        layer(raw, inputs);
      }
      return cfg.output_layers.map((o) => blob(String(o[0])));
    }
    throw new UserError(`${file}: unknown model class "${kind}" (expected Sequential, Model or Functional)`);
  };
  const outputs = convertModel(model);

  if (weights) {
    const unused = [...weights.keys()].filter((n) => !used.has(n));
    if (unused.length)
      throw new UserError(
        `${file}: weights not used by any layer: ${unused.slice(0, 5).join(', ')}${unused.length > 5 ? '…' : ''} (model.json and shards do not match)`,
      );
  }
  return { em, outputs };
}
