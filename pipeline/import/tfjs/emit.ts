import { UserError } from '../../core/errors.ts';
import type { ActivationFn } from '../../graph/tensor-layers.ts';
import type { Layer, ParamBlob } from '../../graph/types.ts';
import { GraphBuilder } from '../graph-builder.ts';

/**
 * The TF.js importers' graph builder: the shared GraphBuilder plus Keras/TF activations.
 */
export class Emitter extends GraphBuilder {
  fail(layer: string, what: string, msg: string): never {
    throw new UserError(`${this.file}: layer "${layer}" (${what}): ${msg}`);
  }

  input(blob: string, shape: number[]): void {
    this.addInput(blob, shape);
  }

  /** Appends a layer (its name made unique), returns its first top's shape. */
  emit(layer: Layer, params?: ParamBlob[]): number[] {
    return this.addLayer(layer, params)[0].shape;
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
