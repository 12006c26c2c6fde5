import { Writable } from 'node:stream';

/**
 * A streaming tar reader that forwards the bytes of one member (matched by its path, or by its
 * base name when the archive prefixes a folder) to `out`, and skips everything else. Handles
 * ustar prefixes, GNU long names ('L') and pax headers ('x' path=). Ends `out` when done.
 */
export class TarMemberWriter extends Writable {
  found = false;
  private buf: Buffer = Buffer.alloc(0);
  /** Bytes left in the current entry's data (+ padding to 512). */
  private remaining = 0;
  private padding = 0;
  private target: 'member' | 'skip' | 'longname' | 'pax' = 'skip';
  private longName?: string;
  private meta: Buffer[] = [];
  private ended = false;

  constructor(
    private readonly member: string,
    private readonly out: Writable,
  ) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    this.pump(cb);
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (this.ended) return cb();
    this.ended = true;
    this.out.end(() => cb());
  }

  private pump(cb: (e?: Error | null) => void): void {
    while (true) {
      if (this.remaining > 0) {
        if (this.buf.length === 0) return cb();
        const n = Math.min(this.remaining, this.buf.length);
        const part = this.buf.subarray(0, n);
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        if (this.target === 'member') {
          if (!this.out.write(part)) {
            this.out.once('drain', () => this.pump(cb));
            return;
          }
        } else if (this.target === 'longname' || this.target === 'pax') {
          this.meta.push(Buffer.from(part));
        }
        if (this.remaining === 0) this.endEntry();
        continue;
      }
      if (this.padding > 0) {
        if (this.buf.length === 0) return cb();
        const n = Math.min(this.padding, this.buf.length);
        this.buf = this.buf.subarray(n);
        this.padding -= n;
        continue;
      }
      if (this.buf.length < 512) return cb();
      const header = this.buf.subarray(0, 512);
      this.buf = this.buf.subarray(512);
      if (header.every((b) => b === 0)) continue; // end-of-archive blocks
      this.startEntry(header);
      if (this.remaining === 0) this.endEntry();
    }
  }

  private startEntry(h: Buffer): void {
    const str = (a: number, b: number) => h.subarray(a, b).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(str(124, 136).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    let name = str(0, 100);
    if (str(257, 263).startsWith('ustar')) {
      const prefix = str(345, 500);
      if (prefix) name = `${prefix}/${name}`;
    }
    if (this.longName !== undefined) {
      name = this.longName;
      this.longName = undefined;
    }
    this.remaining = size;
    this.padding = (512 - (size % 512)) % 512;
    this.meta = [];
    if (type === 'L') this.target = 'longname';
    else if (type === 'x') this.target = 'pax';
    else if ((type === '0' || type === '\0' || type === '7') && !this.found && this.matches(name)) {
      this.target = 'member';
      this.found = true;
    } else this.target = 'skip';
  }

  private endEntry(): void {
    if (this.target === 'longname') this.longName = Buffer.concat(this.meta).toString('utf8').replace(/\0.*$/s, '');
    if (this.target === 'pax') {
      const m = /\d+ path=([^\n]*)\n/.exec(Buffer.concat(this.meta).toString('utf8'));
      if (m) this.longName = m[1];
    }
    this.target = 'skip';
  }

  private matches(name: string): boolean {
    const clean = name.replace(/^\.\//, '');
    return clean === this.member || clean.endsWith(`/${this.member}`);
  }
}
