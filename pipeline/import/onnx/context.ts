import { UserError } from '../../core/errors.ts';
import type { Layer, ParamBlob } from '../../graph/types.ts';
import { GraphBuilder } from '../graph-builder.ts';
import type { AttrValue, NodeProto } from './proto.ts';
import { type BatchAt, imageAxisOf, isFront, onnxDims } from './batch-axis.ts';
import { FLOAT_TYPES, numel, type Tensor } from './tensor.ts';

/**
 * State of one ONNX → Graph conversion: the layers emitted so far with their blob shapes (per
 * image, NCHW semantics), constant tensors (initializers, Constant nodes, folded subgraphs),
 * and helpers the op converters share. ONNX tensor axis 0 is the batch: a tensor of ONNX shape
 * [N, C, H, W] is the blob C×H×W.
 */

/** A data (image-dependent) tensor: the blob holding it, its per-image shape, and where the ONNX tensor has the batch (absent: axis 0). */
export interface Value {
  blob: string;
  shape: number[];
  at?: BatchAt;
}

export class Ctx extends GraphBuilder {
  readonly values = new Map<string, Value>();
  readonly consts = new Map<string, Tensor>();
  /** How many nodes (and graph outputs) read each tensor. */
  readonly readers = new Map<string, number>();

  constructor(
    file: string,
    /** Opset of the default domain. */
    readonly opset: number,
    /** The batch size the model declares (2 when symbolic): used to resolve Reshape/Shape. */
    readonly batch: number,
  ) {
    super(file);
  }

  /** A UserError naming the node and its operator. */
  fail(node: NodeProto, msg: string): never {
    throw new UserError(`${this.file}: node "${node.name || node.outputs[0]}" (${node.opType}): ${msg}`);
  }

  /** A blob name for an internal intermediate (e.g. the padding before a convolution). */
  internalBlob(base: string): string {
    return this.blobName(base, (n) => this.values.has(n) || this.consts.has(n));
  }

  isConst(name: string): boolean {
    return this.consts.has(name);
  }

  /**
   * The data tensor named `name`, with the batch on axis 0 (an error naming the node when it is a
   * constant or unknown, or when an earlier Transpose/Reshape moved the batch: see anyValue).
   */
  value(node: NodeProto, name: string): Value {
    const v = this.anyValue(node, name);
    if (!isFront(v.at))
      this.fail(
        node,
        `input "${name}" has the batch on axis ${v.at!.axis} (moved there by an earlier Transpose/Reshape); ${node.opType} needs the batch on axis 0`,
      );
    return v;
  }

  /** The data tensor named `name`, wherever its batch is (for the operators that follow a moved batch). */
  anyValue(node: NodeProto, name: string): Value {
    const v = this.values.get(name);
    if (v) return v;
    if (this.consts.has(name)) this.fail(node, `input "${name}" is a constant where deepvis needs image data`);
    this.fail(node, `input "${name}" is not produced by any earlier node (nodes must be in topological order)`);
  }

  /** The constant named `name`, or an error naming the node. */
  constant(node: NodeProto, name: string, what: string): Tensor {
    const c = this.consts.get(name);
    if (c) return c;
    if (this.values.has(name)) this.fail(node, `${what} "${name}" must be a constant (an initializer), not computed from the image`);
    this.fail(node, `${what} "${name}" is not defined`);
  }

  /** An optional constant input (absent or empty name → undefined). */
  optConst(node: NodeProto, index: number, what: string): Tensor | undefined {
    const name = node.inputs[index];
    return name ? this.constant(node, name, what) : undefined;
  }

  /** Float data of a constant, as Float32Array (integer constants converted). */
  floats(t: Tensor): Float32Array {
    return t.data instanceof Float32Array ? t.data : Float32Array.from(t.data);
  }

  /** Integer values of a constant (shapes, axes, pads). */
  ints(node: NodeProto, t: Tensor, what: string): number[] {
    if (FLOAT_TYPES.has(t.dataType)) this.fail(node, `${what} must be an integer tensor`);
    return Array.from(t.data);
  }

  /** Per-image shape → ONNX shape with the batch axis. */
  full(shape: number[]): number[] {
    return [this.batch, ...shape];
  }

  /** The ONNX dims of a data tensor (the batch where it is). */
  dims(v: Value): number[] {
    return onnxDims(v.shape, v.at, this.batch);
  }

  /**
   * ONNX axis of a data tensor → per-image axis. The batch's own axis is refused; so is an axis
   * the batch is merged into, unless `merged` allows it (elementwise use).
   */
  axisOf(node: NodeProto, v: Value, axis: number, merged = false): number {
    const a = imageAxisOf(v.shape, v.at, axis);
    if (a === undefined) this.fail(node, `axis ${axis} is out of range for a ${this.dims(v).length}-D tensor`);
    if (a === 'batch') this.fail(node, `operates along axis ${axis}, the batch axis (deepvis runs each image of a batch independently)`);
    if (!merged && v.at?.merged && a === v.at.axis) this.fail(node, `operates along axis ${axis}, which holds the batch merged with other values`);
    return a;
  }

  /**
   * A constant aligned to a data tensor by numpy's rules (leading 1s), as a per-image shape: its
   * size along the batch's axis must be 1 (that axis is dropped when it is the batch's own).
   */
  alignConstTo(node: NodeProto, t: Tensor, v: Value): number[] {
    if (isFront(v.at)) return this.alignConst(node, t, v.shape.length);
    const r = this.dims(v).length;
    if (t.dims.length > r) this.fail(node, `constant "${t.name}" of shape [${t.dims}] has more axes than the image tensor (${r})`);
    const aligned = [...Array(r - t.dims.length).fill(1), ...t.dims];
    const at = v.at!;
    if (aligned[at.axis] !== 1) this.fail(node, `constant "${t.name}" of shape [${t.dims}] varies along axis ${at.axis}, which holds the batch`);
    return at.merged ? aligned : aligned.filter((_, i) => i !== at.axis);
  }

  /** ONNX axis (possibly negative) of a tensor with `rank` per-image axes → per-image axis; axis 0 is refused. */
  imageAxis(node: NodeProto, axis: number, rank: number): number {
    const a = axis < 0 ? axis + rank + 1 : axis;
    if (a < 0 || a > rank) this.fail(node, `axis ${axis} is out of range for a ${rank + 1}-D tensor`);
    if (a === 0) this.fail(node, 'operates along axis 0, the batch axis (deepvis runs each image of a batch independently)');
    return a - 1;
  }

  /**
   * A constant computed for the whole batch (ViT's class token expanded to [N, 1, C]) whose
   * images are all equal, as the one image's constant [1, …]; others are returned as they are.
   */
  oneImage(t: Tensor): Tensor {
    const n = t.dims[0];
    if (this.batch === 1 || n !== this.batch || t.dims.length < 2) return t;
    const per = numel(t.dims.slice(1));
    for (let b = 1; b < n; b++) for (let i = 0; i < per; i++) if (t.data[b * per + i] !== t.data[i]) return t;
    return { ...t, dims: [1, ...t.dims.slice(1)], data: t.data.slice(0, per) as Tensor['data'] };
  }

  /**
   * Aligns a constant to an operand with `rank` per-image axes by numpy's rules (leading 1s),
   * and drops the batch axis: its size there must be 1.
   */
  alignConst(node: NodeProto, t: Tensor, rank: number): number[] {
    if (t.dims.length > rank + 1) this.fail(node, `constant "${t.name}" of shape [${t.dims}] has more axes than the image tensor (${rank + 1})`);
    const aligned = [...Array(rank + 1 - t.dims.length).fill(1), ...t.dims];
    if (aligned[0] !== 1) this.fail(node, `constant "${t.name}" of shape [${t.dims}] varies along the batch axis`);
    return aligned.slice(1);
  }

  /**
   * Appends a layer, infers its outputs' shapes (shared shape inference), and records its tops as
   * data tensors.
   */
  emit(layer: Layer, params?: ParamBlob[], at?: BatchAt): number[][] {
    const where = isFront(at) ? {} : { at };
    return this.addLayer(layer, params).map((o, i) => {
      this.values.set(layer.tops[i], { blob: layer.tops[i], shape: o.shape, ...where });
      return o.shape;
    });
  }

  /** Registers the graph input (an `input` layer). */
  emitInput(blob: string, shape: number[]): void {
    this.addInput(blob, shape);
    this.values.set(blob, { blob, shape });
  }

  /**
   * Removes the layer that wrote `blob` when it was the last layer emitted for it and nothing else
   * reads the blob (an import-time fusion replaces it); returns the removed layer.
   */
  takeBack(blob: string): Layer | undefined {
    const i = this.layers.findIndex((l) => l.tops.length === 1 && l.tops[0] === blob && !l.bottoms.includes(blob));
    if (i < 0 || (this.readers.get(blob) ?? 0) !== 1 || this.layers.some((l) => l.bottoms.includes(blob))) return undefined;
    const [l] = this.layers.splice(i, 1);
    this.values.delete(blob);
    this.blobs.delete(blob);
    this.weights.delete(l.name);
    return l;
  }

  /** An ONNX tensor name made an alias of an existing blob (no layer). */
  alias(name: string, v: Value): void {
    this.values.set(name, v);
  }

  /** A ParamBlob from float values. */
  static param(shape: number[], data: Float32Array): ParamBlob {
    if (data.length !== numel(shape)) throw new Error(`internal: param of shape [${shape}] with ${data.length} values`);
    return { shape, data };
  }
}

/** Attribute accessors with ONNX defaults; a wrongly typed attribute is an error naming the node. */
export class Attrs {
  constructor(
    private readonly ctx: Ctx,
    private readonly node: NodeProto,
  ) {}

  private get(name: string): AttrValue | undefined {
    return this.node.attrs.get(name);
  }

  has(name: string): boolean {
    return this.node.attrs.has(name);
  }

  int(name: string, def: number): number {
    const a = this.get(name);
    if (!a) return def;
    if (a.type !== 'int') this.ctx.fail(this.node, `attribute ${name} must be an int`);
    return a.i;
  }

  float(name: string, def: number): number {
    const a = this.get(name);
    if (!a) return def;
    if (a.type === 'float') return a.f;
    if (a.type === 'int') return a.i;
    this.ctx.fail(this.node, `attribute ${name} must be a float`);
  }

  string(name: string, def: string): string {
    const a = this.get(name);
    if (!a) return def;
    if (a.type !== 'string') this.ctx.fail(this.node, `attribute ${name} must be a string`);
    return a.s;
  }

  ints(name: string): number[] | undefined {
    const a = this.get(name);
    if (!a) return undefined;
    if (a.type !== 'ints') this.ctx.fail(this.node, `attribute ${name} must be a list of ints`);
    return a.ints;
  }

  floats(name: string): number[] | undefined {
    const a = this.get(name);
    if (!a) return undefined;
    if (a.type !== 'floats') this.ctx.fail(this.node, `attribute ${name} must be a list of floats`);
    return a.floats;
  }
}
