/**
 * A one-line progress display on stderr: label, done/total, rate, ETA. Redraws in place on a TTY,
 * prints a line at most every `logEveryMs` otherwise (CI logs stay short).
 */
export interface ProgressOptions {
  label: string;
  total: number;
  /** Unit of the rate, e.g. "img/s", "img-steps/s". */
  rateUnit?: string;
  /** Stream; defaults to process.stderr. */
  stream?: NodeJS.WriteStream;
  logEveryMs?: number;
  /** Silence (tests). Defaults to DEEPVIS_QUIET being set. */
  quiet?: boolean;
}

export class Progress {
  private done = 0;
  private work = 0;
  private readonly start = Date.now();
  private lastDraw = 0;
  /** Counters and status of the last line written when not on a TTY: a line is logged only when they changed. */
  private lastKey = '';
  private readonly stream: NodeJS.WriteStream;
  private readonly tty: boolean;
  private readonly quiet: boolean;
  private extra = '';

  constructor(private readonly opts: ProgressOptions) {
    this.stream = opts.stream ?? process.stderr;
    this.tty = Boolean(this.stream.isTTY);
    this.quiet = opts.quiet ?? Boolean(process.env.DEEPVIS_QUIET);
  }

  /** Marks `n` items done; `work` counts the rate's unit (e.g. img-steps) if it differs from items. */
  tick(n = 1, work = n): void {
    this.done += n;
    this.work += work;
    this.draw(false);
  }

  /** Sets a short status text shown after the counters. */
  status(text: string): void {
    this.extra = text;
    this.draw(false);
  }

  get elapsedMs(): number {
    return Date.now() - this.start;
  }

  get rate(): number {
    const s = this.elapsedMs / 1000;
    return s > 0 ? this.work / s : 0;
  }

  finish(summary?: string): void {
    this.draw(true);
    if (!this.quiet) {
      if (this.tty) this.stream.write('\n');
      if (summary) this.stream.write(`${summary}\n`);
    }
  }

  line(): string {
    const { label, total, rateUnit = 'items/s' } = this.opts;
    const pct = total > 0 ? Math.floor((100 * this.done) / total) : 100;
    const rate = this.rate;
    const left = total - this.done;
    const itemRate = this.elapsedMs > 0 ? this.done / (this.elapsedMs / 1000) : 0;
    const eta = itemRate > 0 && left > 0 ? formatDuration((left / itemRate) * 1000) : left > 0 ? '?' : '0s';
    const width = 20;
    const filled = total > 0 ? Math.round((width * this.done) / total) : width;
    const bar = '#'.repeat(filled) + '.'.repeat(Math.max(0, width - filled));
    return `${label} [${bar}] ${this.done}/${total} ${pct}% ${rate.toFixed(rate < 10 ? 2 : 0)} ${rateUnit} ETA ${eta}${this.extra ? ' ' + this.extra : ''}`;
  }

  private draw(force: boolean): void {
    if (this.quiet) return;
    const now = Date.now();
    const every = this.tty ? 100 : (this.opts.logEveryMs ?? 10_000);
    if (!force && now - this.lastDraw < every) return;
    this.lastDraw = now;
    if (this.tty) return void this.stream.write(`\r\x1b[2K${this.line()}`);
    const key = `${this.done}/${this.opts.total} ${this.extra}`;
    if (key !== this.lastKey) this.stream.write(`${this.line()}\n`);
    this.lastKey = key;
  }
}

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
