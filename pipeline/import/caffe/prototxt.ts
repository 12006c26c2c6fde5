import { UserError } from '../../core/errors.ts';

/**
 * Protocol-buffer TEXT format (Caffe's .prototxt) parsed into a generic tree, without a schema.
 *
 * Accepted: `name: value`, `name { … }`, `name: { … }`, `name < … >`, list values `name: [1, 2]`,
 * double- and single-quoted strings with C escapes (adjacent strings concatenate), numbers
 * (decimal, hex, octal, exponents, a trailing `f`, `inf`/`nan`, optionally negative), enum
 * identifiers, `true`/`false`, `#` comments, and `,`/`;` field separators.
 */

/** An enum value or other bare identifier (e.g. `CONVOLUTION`, `MAX`, `TEST`, `true`). */
export class Ident {
  constructor(readonly name: string) {}
  toString(): string {
    return this.name;
  }
}

export type TextValue = string | number | Ident | TextMessage;

export interface TextField {
  name: string;
  value: TextValue;
  line: number;
  col: number;
}

export class TextMessage {
  readonly fields: TextField[] = [];
  constructor(
    readonly line: number,
    readonly col: number,
  ) {}

  /** Every occurrence of a field, in file order. */
  all(name: string): TextField[] {
    return this.fields.filter((f) => f.name === name);
  }

  /** The last occurrence of a field (protobuf's rule for a non-repeated field given twice). */
  get(name: string): TextField | undefined {
    for (let i = this.fields.length - 1; i >= 0; i--) if (this.fields[i].name === name) return this.fields[i];
    return undefined;
  }

  has(name: string): boolean {
    return this.fields.some((f) => f.name === name);
  }
}

type Tok =
  | { t: 'ident'; v: string; line: number; col: number }
  | { t: 'num'; v: number; line: number; col: number }
  | { t: 'str'; v: string; line: number; col: number }
  | { t: 'punct'; v: string; line: number; col: number }
  | { t: 'eof'; line: number; col: number };

const SPECIAL_NUMBERS: Record<string, number> = {
  inf: Infinity,
  infinity: Infinity,
  inff: Infinity,
  infinityf: Infinity,
  nan: NaN,
  nanf: NaN,
};

class Lexer {
  private pos = 0;
  private line = 1;
  private lineStart = 0;
  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  fail(line: number, col: number, msg: string): never {
    throw new UserError(`${this.file}:${line}:${col}: ${msg}`);
  }

  next(): Tok {
    const s = this.src;
    // whitespace and comments
    for (;;) {
      const c = s[this.pos];
      if (c === '\n') {
        this.pos++;
        this.line++;
        this.lineStart = this.pos;
      } else if (c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v') this.pos++;
      else if (c === '#') {
        while (this.pos < s.length && s[this.pos] !== '\n') this.pos++;
      } else break;
    }
    const line = this.line;
    const col = this.pos - this.lineStart + 1;
    if (this.pos >= s.length) return { t: 'eof', line, col };
    const c = s[this.pos];
    if ('{}<>[]:,;'.includes(c)) {
      this.pos++;
      return { t: 'punct', v: c, line, col };
    }
    if (c === '"' || c === "'") return { t: 'str', v: this.string(line, col), line, col };
    if (c === '-' || c === '+' || c === '.' || (c >= '0' && c <= '9')) return { t: 'num', v: this.number(line, col), line, col };
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(s.slice(this.pos, this.pos + 256))!;
      this.pos += m[0].length;
      return { t: 'ident', v: m[0], line, col };
    }
    this.fail(line, col, `unexpected character ${JSON.stringify(c)}`);
  }

  private number(line: number, col: number): number {
    const rest = this.src.slice(this.pos, this.pos + 128);
    const m = /^([-+]?)\s*(0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?[fF]?|[A-Za-z_]\w*)/.exec(rest);
    if (!m) this.fail(line, col, `bad number near ${JSON.stringify(rest.slice(0, 12))}`);
    this.pos += m[0].length;
    const sign = m[1] === '-' ? -1 : 1;
    const body = m[2];
    let v: number;
    if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
    else if (/^[A-Za-z_]/.test(body)) {
      const sp = SPECIAL_NUMBERS[body.toLowerCase()];
      if (sp === undefined) this.fail(line, col, `bad number "${m[0]}"`);
      v = sp;
    } else if (/^0[0-7]+$/.test(body)) v = parseInt(body, 8);
    else v = Number(body.replace(/[fF]$/, ''));
    if (Number.isNaN(v) && !/nan/i.test(body)) this.fail(line, col, `bad number "${m[0]}"`);
    return sign * v;
  }

  private string(line: number, col: number): string {
    const s = this.src;
    const quote = s[this.pos++];
    let out = '';
    for (;;) {
      if (this.pos >= s.length || s[this.pos] === '\n') this.fail(line, col, 'unterminated string');
      const c = s[this.pos++];
      if (c === quote) break;
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = s[this.pos++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '?': '?' };
      if (e in simple) out += simple[e];
      else if (e === 'x' || e === 'X') {
        const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(this.pos, this.pos + 2));
        if (!m) this.fail(this.line, this.pos - this.lineStart, 'bad \\x escape');
        out += String.fromCharCode(parseInt(m[0], 16));
        this.pos += m[0].length;
      } else if (e >= '0' && e <= '7') {
        const m = /^[0-7]{1,3}/.exec(s.slice(this.pos - 1, this.pos + 2))!;
        out += String.fromCharCode(parseInt(m[0], 8));
        this.pos += m[0].length - 1;
      } else if (e === 'u' || e === 'U') {
        const n = e === 'u' ? 4 : 8;
        const hex = s.slice(this.pos, this.pos + n);
        if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail(this.line, this.pos - this.lineStart, `bad \\${e} escape`);
        out += String.fromCodePoint(parseInt(hex, 16));
        this.pos += n;
      } else this.fail(this.line, this.pos - this.lineStart, `bad escape "\\${e ?? ''}"`);
    }
    return out;
  }
}

class Parser {
  private tok: Tok;
  constructor(private readonly lex: Lexer) {
    this.tok = lex.next();
  }

  private describe(t: Tok): string {
    if (t.t === 'eof') return 'end of file';
    if (t.t === 'str') return `string ${JSON.stringify(t.v)}`;
    return `"${t.v}"`;
  }

  private fail(msg: string): never {
    this.lex.fail(this.tok.line, this.tok.col, `${msg}, found ${this.describe(this.tok)}`);
  }

  private advance(): Tok {
    const t = this.tok;
    this.tok = this.lex.next();
    return t;
  }

  private isPunct(v: string): boolean {
    return this.tok.t === 'punct' && this.tok.v === v;
  }

  /** Fields until `close` (or end of file for the top level). */
  message(into: TextMessage, close: string | null): void {
    for (;;) {
      if (close === null && this.tok.t === 'eof') return;
      if (close !== null && this.isPunct(close)) {
        this.advance();
        return;
      }
      if (this.tok.t === 'eof') this.fail(`expected "${close}" to close the message opened at ${into.line}:${into.col}`);
      this.field(into);
      if (this.isPunct(',') || this.isPunct(';')) this.advance();
    }
  }

  private field(into: TextMessage): void {
    const nameTok = this.tok;
    let name: string;
    if (nameTok.t === 'ident') {
      name = nameTok.v;
      this.advance();
    } else if (this.isPunct('[')) {
      // extension or Any type URL: [pkg.ext] — keep the bracketed name
      this.advance();
      let inner = '';
      while (!this.isPunct(']')) {
        if (this.tok.t === 'eof') this.fail('expected "]"');
        inner += this.tok.t === 'punct' ? this.tok.v : String((this.tok as { v: unknown }).v);
        this.advance();
      }
      this.advance();
      name = `[${inner}]`;
    } else this.fail('expected a field name');
    const hasColon = this.isPunct(':');
    if (hasColon) this.advance();
    if (this.isPunct('{') || this.isPunct('<')) {
      const open = this.advance();
      const msg = new TextMessage(open.line, open.col);
      this.message(msg, (open as { v: string }).v === '{' ? '}' : '>');
      into.fields.push({ name, value: msg, line: nameTok.line, col: nameTok.col });
      return;
    }
    if (!hasColon) this.fail(`expected ":" or "{" after field "${name}"`);
    if (this.isPunct('[')) {
      this.advance();
      if (this.isPunct(']')) {
        this.advance();
        return;
      }
      for (;;) {
        const at = this.tok;
        into.fields.push({ name, value: this.listItem(), line: at.line, col: at.col });
        if (this.isPunct(',')) this.advance();
        else if (this.isPunct(']')) {
          this.advance();
          return;
        } else this.fail('expected "," or "]" in list');
      }
    }
    into.fields.push({ name, value: this.scalar(), line: nameTok.line, col: nameTok.col });
  }

  private listItem(): TextValue {
    if (this.isPunct('{') || this.isPunct('<')) {
      const open = this.advance();
      const msg = new TextMessage(open.line, open.col);
      this.message(msg, (open as { v: string }).v === '{' ? '}' : '>');
      return msg;
    }
    return this.scalar();
  }

  private scalar(): TextValue {
    const t = this.tok;
    if (t.t === 'num') {
      this.advance();
      return t.v;
    }
    if (t.t === 'str') {
      let v = t.v;
      this.advance();
      while (this.tok.t === 'str') v += (this.advance() as { v: string }).v;
      return v;
    }
    if (t.t === 'ident') {
      this.advance();
      const sp = SPECIAL_NUMBERS[t.v.toLowerCase()];
      return sp !== undefined ? sp : new Ident(t.v);
    }
    this.fail('expected a value');
  }
}

/** Parses protobuf text; `file` names the source in error messages (`file:line:col: …`). */
export function parsePrototxt(text: string, file: string): TextMessage {
  const root = new TextMessage(1, 1);
  new Parser(new Lexer(text.replace(/^\uFEFF/, ''), file)).message(root, null);
  return root;
}
