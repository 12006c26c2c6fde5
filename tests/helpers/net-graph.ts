/**
 * Hand-built Caffe graphs for the net tests: a tiny builder that infers blob shapes with Caffe's
 * formulas and fills parameters from a seeded RNG.
 */
import type { BlobInfo, Graph, Layer, LayerKind, Model, Pair, ParamBlob } from '../../pipeline/graph/types.ts';
import { mulberry32 } from '../../pipeline/core/random.ts';

/** The input as given (h×w, no resize, mean 0, std 1): test graphs take their inputs ready. */
export function rawPreprocess(h: number, w: number): Model['preprocess'] {
  return { size: [h, w], resize: [h, w], channelOrder: 'BGR', mean: [0, 0, 0], std: [1, 1, 1], scale: 1 };
}

/** mulberry32: small seeded RNG. */
export const rng = mulberry32;

export function randn(r: () => number, n: number, scale = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scale * Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  return out;
}

const pair = (v: number | Pair): Pair => (typeof v === 'number' ? [v, v] : v);

export interface ConvOpts {
  numOutput: number;
  kernel: number | Pair;
  stride?: number | Pair;
  pad?: number | Pair;
  dilation?: number | Pair;
  group?: number;
  bias?: boolean;
}
export interface PoolOpts {
  method: 'max' | 'ave';
  kernel?: number | Pair;
  stride?: number | Pair;
  pad?: number | Pair;
  global?: boolean;
}

export class GraphBuilder {
  layers: Layer[] = [];
  shapes = new Map<string, number[]>();
  producers = new Map<string, { kind: LayerKind; layer: string }>();
  weights = new Map<string, ParamBlob[]>();
  private r: () => number;

  constructor(
    readonly input: [number, number, number],
    seed = 1,
    readonly inputBlob = 'data',
  ) {
    this.r = rng(seed);
    this.add({ kind: 'input', name: 'data', bottoms: [], tops: [inputBlob], shape: input }, [input]);
  }

  private add(l: Layer, outShapes: number[][]): this {
    this.layers.push(l);
    l.tops.forEach((t, i) => {
      if (!this.producers.has(t)) this.producers.set(t, { kind: l.kind, layer: l.name });
      else this.producers.set(t, { kind: l.kind, layer: this.producers.get(t)!.layer });
      this.shapes.set(t, outShapes[i]);
    });
    return this;
  }
  shape(b: string): number[] {
    const s = this.shapes.get(b);
    if (!s) throw new Error(`no blob ${b}`);
    return s;
  }
  param(layer: string, shape: number[], scale: number) {
    const n = shape.reduce((a, b) => a * b, 1);
    const list = this.weights.get(layer) ?? [];
    list.push({ shape, data: randn(this.r, n, scale) });
    this.weights.set(layer, list);
  }

  conv(name: string, bottom: string, top: string, o: ConvOpts): this {
    const [c, h, w] = this.shape(bottom);
    const k = pair(o.kernel),
      s = pair(o.stride ?? 1),
      p = pair(o.pad ?? 0),
      d = pair(o.dilation ?? 1),
      g = o.group ?? 1;
    const oh = Math.floor((h + 2 * p[0] - (d[0] * (k[0] - 1) + 1)) / s[0]) + 1;
    const ow = Math.floor((w + 2 * p[1] - (d[1] * (k[1] - 1) + 1)) / s[1]) + 1;
    this.param(name, [o.numOutput, c / g, k[0], k[1]], 1 / Math.sqrt((c / g) * k[0] * k[1]));
    if (o.bias ?? true) this.param(name, [o.numOutput], 0.1);
    return this.add(
      {
        kind: 'conv',
        name,
        bottoms: [bottom],
        tops: [top],
        numOutput: o.numOutput,
        kernel: k,
        stride: s,
        pad: p,
        dilation: d,
        group: g,
        biasTerm: o.bias ?? true,
      },
      [[o.numOutput, oh, ow]],
    );
  }
  fc(name: string, bottom: string, top: string, numOutput: number, bias = true): this {
    const n = this.shape(bottom).reduce((a, b) => a * b, 1);
    this.param(name, [numOutput, n], 1 / Math.sqrt(n));
    if (bias) this.param(name, [numOutput], 0.1);
    return this.add({ kind: 'fc', name, bottoms: [bottom], tops: [top], numOutput, biasTerm: bias }, [[numOutput]]);
  }
  relu(name: string, blob: string, top = blob, negativeSlope = 0): this {
    return this.add({ kind: 'relu', name, bottoms: [blob], tops: [top], negativeSlope }, [this.shape(blob)]);
  }
  pool(name: string, bottom: string, top: string, o: PoolOpts): this {
    const [c, h, w] = this.shape(bottom);
    const glob = o.global ?? false;
    const k = glob ? ([h, w] as Pair) : pair(o.kernel ?? 1),
      s = glob ? ([1, 1] as Pair) : pair(o.stride ?? 1),
      p = glob ? ([0, 0] as Pair) : pair(o.pad ?? 0);
    const size = (n: number, i: 0 | 1) => {
      let out = Math.ceil((n + 2 * p[i] - k[i]) / s[i]) + 1;
      if (p[i] > 0 && (out - 1) * s[i] >= n + p[i]) out--;
      return out;
    };
    return this.add({ kind: 'pool', name, bottoms: [bottom], tops: [top], method: o.method, kernel: k, stride: s, pad: p, global: glob }, [
      [c, size(h, 0), size(w, 1)],
    ]);
  }
  lrn(name: string, bottom: string, top: string, localSize = 5, alpha = 1e-4, beta = 0.75, k = 1): this {
    return this.add({ kind: 'lrn', name, bottoms: [bottom], tops: [top], localSize, alpha, beta, k }, [this.shape(bottom)]);
  }
  concat(name: string, bottoms: string[], top: string, axis = 1): this {
    const shapes = bottoms.map((b) => this.shape(b));
    const out = shapes[0].slice();
    out[axis - 1] = shapes.reduce((a, s) => a + s[axis - 1], 0);
    return this.add({ kind: 'concat', name, bottoms, tops: [top], axis }, [out]);
  }
  eltwise(name: string, bottoms: string[], top: string, op: 'sum' | 'prod' | 'max', coeffs: number[] = []): this {
    return this.add({ kind: 'eltwise', name, bottoms, tops: [top], op, coeffs }, [this.shape(bottoms[0])]);
  }
  softmax(name: string, bottom: string, top: string): this {
    return this.add({ kind: 'softmax', name, bottoms: [bottom], tops: [top] }, [this.shape(bottom)]);
  }
  flatten(name: string, bottom: string, top: string): this {
    const n = this.shape(bottom).reduce((a, b) => a * b, 1);
    return this.add({ kind: 'flatten', name, bottoms: [bottom], tops: [top] }, [[n]]);
  }
  identity(name: string, bottom: string, tops: string[]): this {
    return this.add(
      { kind: 'identity', name, bottoms: [bottom], tops },
      tops.map(() => this.shape(bottom)),
    );
  }
  scale(name: string, bottom: string, top: string, bias = true): this {
    const c = this.shape(bottom)[0];
    this.param(name, [c], 1);
    if (bias) this.param(name, [c], 1);
    return this.add({ kind: 'scale', name, bottoms: [bottom], tops: [top], biasTerm: bias }, [this.shape(bottom)]);
  }
  batchnorm(name: string, bottom: string, top: string, eps = 1e-5): this {
    const c = this.shape(bottom)[0];
    const factor = 0.5 + this.r();
    const mean = randn(this.r, c, factor);
    const variance = new Float32Array(c).map(() => (0.2 + this.r()) * factor);
    this.weights.set(name, [
      { shape: [c], data: mean },
      { shape: [c], data: variance },
      { shape: [1], data: new Float32Array([factor]) },
    ]);
    return this.add({ kind: 'batchnorm', name, bottoms: [bottom], tops: [top], eps }, [this.shape(bottom)]);
  }

  model(id = 'test'): Model {
    const blobs: BlobInfo[] = [...this.shapes.keys()].map((name) => ({
      name,
      shape: this.shapes.get(name)!,
      producer: this.producers.get(name)!.kind,
      layer: this.producers.get(name)!.layer,
      rf: { size: [1, 1], stride: [1, 1], offset: [0, 0] },
    }));
    const graph: Graph = { name: id, layers: this.layers, input: { blob: this.inputBlob, shape: this.input }, blobs, weights: this.weights };
    return {
      id,
      graph,
      preprocess: rawPreprocess(this.input[1], this.input[2]),
      source: `test graph ${id}`,
    };
  }
}
