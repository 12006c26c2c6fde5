/**
 * What every importer does while it converts a file: appends layers, infers their blob shapes
 * (per image, NCHW semantics) with the shared shape rules of graph/shapes.ts, keeps layer and blob
 * names unique, and collects the weights. The ONNX and TF.js converters extend it.
 */
import { UserError } from '../core/errors.ts';
import { layerOutputs } from '../graph/shapes.ts';
import { type BlobInfo, type BlobOut, type Layer, type Pair, type ParamBlob, setBlobOut } from '../graph/types.ts';

export class GraphBuilder {
  readonly layers: Layer[] = [];
  readonly weights = new Map<string, ParamBlob[]>();
  protected readonly blobs = new Map<string, BlobInfo>();
  protected readonly names = new Set<string>();
  /** Set by the input: blob name and image size (for receptive fields). */
  inputBlob = '';
  imageSize: Pair = [1, 1];

  constructor(
    /** Names the file in errors. */
    readonly file: string,
  ) {}

  /** The per-image shape of a blob computed so far. */
  shape(blob: string): number[] {
    const b = this.blobs.get(blob);
    if (!b) throw new UserError(`${this.file}: "${blob}" is used before it is computed`);
    return b.shape;
  }

  has(blob: string): boolean {
    return this.blobs.has(blob);
  }

  /** A unique layer name derived from `base` (reserved once returned). */
  layerName(base: string): string {
    let name = base;
    for (let i = 2; this.names.has(name); i++) name = `${base}_${i}`;
    this.names.add(name);
    return name;
  }

  /** A blob name derived from `base` that no blob (nor `taken`) has. */
  blobName(base: string, taken: (name: string) => boolean = () => false): string {
    let name = base;
    for (let i = 2; this.blobs.has(name) || taken(name); i++) name = `${base}_${i}`;
    return name;
  }

  /**
   * Adds the patch-grid view (`<blob>/grid`, a `tokengrid` layer) of each transformer block
   * output: the embedding (position embedding added), the residual sums of token blobs, and the
   * last token blob (the final norm). Their units are the C channels over the patch grid. The
   * last token blob's class token (token 0, when constants were put before the grid) gets its own
   * view, `<blob>/class`: C units on a 1×1 grid whose field is the whole image — what the head
   * reads. Returns the views' names.
   */
  addTokenViews(): string[] {
    const tokenBlobs = [...this.blobs.values()].filter((b) => b.tokens && b.shape.length === 2);
    const producer = new Map<string, Layer>();
    for (const l of this.layers) for (const t of l.tops) if (!producer.has(t)) producer.set(t, l);
    const residual = tokenBlobs.filter((b) => {
      const l = producer.get(b.name);
      return l && ((l.kind === 'eltwise' && l.op === 'sum') || (l.kind === 'binary' && l.op === 'add' && l.constant === 'none'));
    });
    // The embedding: the first token blob a constant is added to (ViT's position embedding).
    const embedding = tokenBlobs.find((b) => {
      const l = producer.get(b.name);
      return l?.kind === 'binary' && l.op === 'add' && l.constant !== 'none';
    });
    const last = tokenBlobs.at(-1);
    const chosen = [...new Set([...(embedding ? [embedding] : []), ...residual, ...(last ? [last] : [])])];
    const views = chosen.map((b) => ({ b, suffix: 'grid', first: b.tokens!.first, grid: b.tokens!.grid }));
    if (last?.tokens && last.tokens.first > 0) views.push({ b: last, suffix: 'class', first: 0, grid: [1, 1] });
    return views.map(({ b, suffix, first, grid }) => {
      const t = b.tokens!;
      const top = this.blobName(`${b.name}/${suffix}`);
      this.addLayer({ kind: 'tokengrid', name: this.layerName(top), bottoms: [b.name], tops: [top], axis: t.axis, first, grid });
      // Placed right after the layer that last writes the token blob, so blobs list in network order.
      const view = this.layers.pop()!;
      let after = this.layers.length - 1;
      while (after >= 0 && !this.layers[after].tops.includes(b.name)) after--;
      while (this.layers[after + 1]?.kind === 'tokengrid' && this.layers[after + 1].bottoms[0] === b.name) after++;
      this.layers.splice(after + 1, 0, view);
      return top;
    });
  }

  /** Registers the graph input (an `input` layer) of per-image shape `shape`. */
  addInput(blob: string, shape: number[]): void {
    const layer = { kind: 'input', name: this.layerName(blob), bottoms: [], tops: [blob], shape } as unknown as Layer;
    this.layers.push(layer);
    this.inputBlob = blob;
    this.imageSize = shape.length === 3 ? [shape[1], shape[2]] : [1, 1];
    this.blobs.set(blob, { name: blob, shape, producer: 'input', layer: layer.name, rf: { size: [1, 1], stride: [1, 1], offset: [0, 0] } });
  }

  /**
   * Appends a layer (its name reserved), infers the shapes of its tops and returns them. A top that
   * already exists (an in-place layer) keeps its first writer as `layer` and takes the new shape.
   */
  addLayer(layer: Layer, params?: ParamBlob[]): BlobOut[] {
    this.names.add(layer.name);
    const ins = layer.bottoms.map((b) => {
      const info = this.blobs.get(b);
      if (!info) throw new Error(`internal: unknown blob ${b}`);
      return info;
    });
    const fail = (m: string): never => {
      throw new UserError(`${this.file}: layer "${layer.name}": ${m}`);
    };
    const outs = layerOutputs(layer, ins, this.imageSize, fail);
    this.layers.push(layer);
    if (params?.length) this.weights.set(layer.name, params);
    return layer.tops.map((top, i) => {
      const o = outs[Math.min(i, outs.length - 1)];
      const existing = this.blobs.get(top);
      if (existing) {
        setBlobOut(existing, o);
        existing.producer = layer.kind;
      } else {
        const b: BlobInfo = { name: top, shape: o.shape, producer: layer.kind, layer: layer.name, rf: o.rf };
        setBlobOut(b, o);
        this.blobs.set(top, b);
      }
      return o;
    });
  }
}
