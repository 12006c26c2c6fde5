import { UserError } from '../../core/errors.ts';
import { layerOutputs } from '../../graph/shapes.ts';
import type { ActivationFn } from '../../graph/tensor-layers.ts';
import type { BlobInfo, Layer, Pair, ParamBlob } from '../../graph/types.ts';

/**
 * Builds a Graph's layer list for the TF.js importers: appends layers, infers their blob shapes
 * (per image, NCHW semantics) with the shared shape rules, keeps names unique.
 */
export class Emitter {
  readonly layers: Layer[] = [];
  readonly weights = new Map<string, ParamBlob[]>();
  private readonly blobs = new Map<string, BlobInfo>();
  private readonly names = new Set<string>();
  inputBlob = '';
  imageSize: Pair = [1, 1];

  constructor(readonly file: string) {}

  fail(layer: string, what: string, msg: string): never {
    throw new UserError(`${this.file}: layer "${layer}" (${what}): ${msg}`);
  }

  shape(blob: string): number[] {
    const b = this.blobs.get(blob);
    if (!b) throw new UserError(`${this.file}: "${blob}" is used before it is computed`);
    return b.shape;
  }

  has(blob: string): boolean {
    return this.blobs.has(blob);
  }

  layerName(base: string): string {
    let n = base;
    for (let i = 2; this.names.has(n); i++) n = `${base}_${i}`;
    this.names.add(n);
    return n;
  }

  blobName(base: string): string {
    let n = base;
    for (let i = 2; this.blobs.has(n); i++) n = `${base}_${i}`;
    return n;
  }

  input(blob: string, shape: number[]): void {
    const layer = { kind: 'input', name: this.layerName(blob), bottoms: [], tops: [blob], shape } as unknown as Layer;
    this.layers.push(layer);
    this.inputBlob = blob;
    this.imageSize = shape.length === 3 ? [shape[1], shape[2]] : [1, 1];
    this.blobs.set(blob, { name: blob, shape, producer: 'input', layer: layer.name, rf: { size: [1, 1], stride: [1, 1], offset: [0, 0] } });
  }

  /** Appends a layer (its name made unique), returns its first top's shape. */
  emit(layer: Layer, params?: ParamBlob[]): number[] {
    if (!this.names.has(layer.name)) this.names.add(layer.name);
    const ins = layer.bottoms.map((b) => this.blobs.get(b) ?? (() => { throw new Error(`internal: unknown blob ${b}`); })());
    const fail = (m: string): never => {
      throw new UserError(`${this.file}: layer "${layer.name}": ${m}`);
    };
    const outs = layerOutputs(layer, ins, this.imageSize, fail);
    this.layers.push(layer);
    if (params?.length) this.weights.set(layer.name, params);
    layer.tops.forEach((top, i) => {
      const o = outs[Math.min(i, outs.length - 1)];
      const existing = this.blobs.get(top);
      if (existing) {
        existing.shape = o.shape;
        existing.rf = o.rf;
        existing.producer = layer.kind;
      } else this.blobs.set(top, { name: top, shape: o.shape, producer: layer.kind, layer: layer.name, rf: o.rf });
    });
    return outs[0].shape;
  }

  /** The blob a layer with activation `fn` writes its linear output to: `name` itself when the activation runs in place (ReLU, softmax, none). */
  preact(name: string, fn: string | undefined | null): string {
    return !fn || fn === 'linear' || fn === 'relu' || fn === 'softmax' ? name : this.blobName(`${name}/preact`);
  }

  /**
   * Applies a Keras/TF activation to `blob`, writing `top`: ReLU in place (top = blob), others as a
   * new layer. Returns the blob holding the result.
   */
  activation(name: string, fn: string | undefined | null, blob: string, top: string, what: string): string {
    const base = { name: this.layerName(`${name}/${fn}`), bottoms: [blob], tops: [top] };
    switch (fn ?? 'linear') {
      case 'linear':
        if (blob !== top) this.emit({ kind: 'identity', ...base });
        else this.names.delete(base.name);
        return top;
      case 'relu':
        this.emit({ kind: 'relu', ...base, negativeSlope: 0 });
        return top;
      case 'relu6':
        this.emit({ kind: 'clip', ...base, min: 0, max: 6 });
        return top;
      case 'softmax':
        this.emit({ kind: 'softmax', ...base });
        return top;
      case 'hard_sigmoid':
      case 'hardSigmoid':
        this.emit({ kind: 'activation', ...base, fn: 'hardsigmoid', alpha: 0.2, beta: 0.5, gamma: 1 });
        return top;
      case 'elu':
      case 'selu':
      case 'sigmoid':
      case 'tanh':
      case 'softplus':
      case 'softsign':
      case 'swish':
      case 'gelu': {
        const f = fn as ActivationFn;
        const d = f === 'selu' ? { alpha: 1.6732632423543772, gamma: 1.0507009873554805 } : { alpha: 1, gamma: 1 };
        this.emit({ kind: 'activation', ...base, fn: f, alpha: d.alpha, beta: 0, gamma: d.gamma });
        return top;
      }
      case 'exponential':
        this.emit({ kind: 'activation', ...base, fn: 'exp', alpha: 1, beta: 0, gamma: 1 });
        return top;
      default:
        return this.fail(name, what, `activation "${fn}" is not supported`);
    }
  }
}
