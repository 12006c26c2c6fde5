// Progress lines as a log reader sees them (not a terminal): one line per change, never the same
// counters twice, nothing at all with quiet.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Progress } from '../../pipeline/core/progress.ts';

function sink() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  return { lines, stream };
}

describe('Progress on a non-terminal stream', () => {
  it('logs the final counters once, then the summary', () => {
    const { lines, stream } = sink();
    const p = new Progress({ label: 'scan', total: 2, stream, logEveryMs: 0, quiet: false });
    p.tick();
    p.tick();
    p.finish('scanned 2 images');
    expect(lines.filter((l) => l.includes(' 2/2 '))).toHaveLength(1);
    expect(lines.at(-1)).toBe('scanned 2 images');
    expect(lines[0]).toMatch(/^scan \[#{10}\.{10}\] 1\/2 50% /);
  });

  it('writes nothing when quiet', () => {
    const { lines, stream } = sink();
    const p = new Progress({ label: 'x', total: 1, stream, quiet: true });
    p.tick();
    p.finish('done');
    expect(lines).toEqual([]);
  });
});
