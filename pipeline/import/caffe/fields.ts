import { UserError } from '../../core/errors.ts';
import type { Pair } from '../../graph/types.ts';
import { Ident, TextMessage, type TextField } from './prototxt.ts';

/**
 * Typed access to a parsed prototxt message with errors that name the file, line and the layer:
 * `deploy.prototxt:12:5: layer "conv1": kernel_size must be a positive integer, got 0`.
 */
export class Fields {
  constructor(
    readonly msg: TextMessage,
    readonly file: string,
    /** What the message belongs to, for messages: e.g. `layer "conv1"`. */
    readonly owner: string,
  ) {}

  fail(msg: string, at?: { line: number; col: number }): never {
    const pos = at ?? this.msg;
    throw new UserError(`${this.file}:${pos.line}:${pos.col}: ${this.owner}: ${msg}`);
  }

  has(name: string): boolean {
    return this.msg.has(name);
  }

  private scalarOf(f: TextField, what: string): string | number | Ident {
    if (f.value instanceof TextMessage) this.fail(`${f.name} must be ${what}, got a message`, f);
    return f.value;
  }

  num(name: string, def?: number): number {
    const f = this.msg.get(name);
    if (!f) return def ?? this.fail(`${name} is required`);
    return this.numOf(f);
  }

  private numOf(f: TextField): number {
    const v = this.scalarOf(f, 'a number');
    if (typeof v !== 'number') this.fail(`${f.name} must be a number, got ${typeof v === 'string' ? JSON.stringify(v) : v.name}`, f);
    return v;
  }

  /** A non-negative integer (`min` raises the floor). */
  int(name: string, def?: number, min = 0): number {
    const f = this.msg.get(name);
    if (!f) return def ?? this.fail(`${name} is required`);
    return this.intOf(f, min);
  }

  private intOf(f: TextField, min: number): number {
    const v = this.numOf(f);
    if (!Number.isInteger(v) || v < min) this.fail(`${f.name} must be an integer ≥ ${min}, got ${v}`, f);
    return v;
  }

  ints(name: string, min = 0): number[] {
    return this.msg.all(name).map((f) => this.intOf(f, min));
  }

  nums(name: string): number[] {
    return this.msg.all(name).map((f) => this.numOf(f));
  }

  bool(name: string, def: boolean): boolean {
    const f = this.msg.get(name);
    if (!f) return def;
    const v = this.scalarOf(f, 'true or false');
    const s = v instanceof Ident ? v.name : String(v);
    if (['true', 'True', 't', '1'].includes(s)) return true;
    if (['false', 'False', 'f', '0'].includes(s)) return false;
    this.fail(`${name} must be true or false, got ${s}`, f);
  }

  str(name: string, def?: string): string {
    const f = this.msg.get(name);
    if (!f) return def ?? this.fail(`${name} is required`);
    const v = this.scalarOf(f, 'a string');
    if (typeof v !== 'string') this.fail(`${name} must be a quoted string`, f);
    return v;
  }

  strs(name: string): string[] {
    return this.msg.all(name).map((f) => {
      const v = this.scalarOf(f, 'a string');
      if (typeof v !== 'string') this.fail(`${name} must be a quoted string`, f);
      return v;
    });
  }

  /** An enum field: accepts the value's name or its number (index into `values`). */
  enumOf(name: string, values: readonly string[], def: string): string {
    const f = this.msg.get(name);
    if (!f) return def;
    const v = this.scalarOf(f, 'an enum value');
    if (v instanceof Ident && values.includes(v.name)) return v.name;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < values.length && values[v]) return values[v];
    this.fail(`${name} must be one of ${values.filter(Boolean).join(', ')}, got ${typeof v === 'string' ? JSON.stringify(v) : String(v)}`, f);
  }

  sub(name: string): Fields | undefined {
    const f = this.msg.get(name);
    if (!f) return undefined;
    if (!(f.value instanceof TextMessage)) this.fail(`${name} must be a message { … }`, f);
    return new Fields(f.value, this.file, this.owner);
  }

  subs(name: string): Fields[] {
    return this.msg.all(name).map((f) => {
      if (!(f.value instanceof TextMessage)) this.fail(`${name} must be a message { … }`, f);
      return new Fields(f.value, this.file, this.owner);
    });
  }

  /** A message field that may be absent: an empty one stands in (all defaults). */
  subOrEmpty(name: string): Fields {
    return this.sub(name) ?? new Fields(new TextMessage(this.msg.line, this.msg.col), this.file, this.owner);
  }

  /**
   * Caffe's spatial pair: `name_h`+`name_w`, or the repeated `name` with one value (both axes) or
   * two (h, w). `def` when none is given (undefined: required).
   */
  pair(base: string, def: number | undefined, opts: { min?: number; repeated?: boolean } = {}): Pair {
    const min = opts.min ?? 0;
    const hName = `${base === 'kernel_size' ? 'kernel' : base}_h`;
    const wName = `${base === 'kernel_size' ? 'kernel' : base}_w`;
    const many = this.ints(base, min);
    if (this.has(hName) || this.has(wName)) {
      if (many.length) this.fail(`give either ${base} or ${hName}/${wName}, not both`);
      if (!this.has(hName) || !this.has(wName)) this.fail(`${hName} and ${wName} must be given together`);
      return [this.int(hName, undefined, min), this.int(wName, undefined, min)];
    }
    if (many.length === 0) {
      if (def === undefined) this.fail(`${base} (or ${hName}/${wName}) is required`);
      return [def, def];
    }
    if (many.length === 1) return [many[0], many[0]];
    if (many.length === 2 && opts.repeated !== false) return [many[0], many[1]];
    this.fail(`${base} given ${many.length} times: only 2-D (one value, or h and w) is supported`);
  }
}
