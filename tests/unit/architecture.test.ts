// Imports inside pipeline/ point down the room order of pipeline/rooms.ts, and the format
// importers and the stages do not reach into each other.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTRY_POINTS, ROOMS, SIBLING_ROOMS, type Room } from '../../pipeline/rooms.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const PIPELINE = join(ROOT, 'pipeline');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? walk(join(dir, d.name)) : d.name.endsWith('.ts') ? [join(dir, d.name)] : [],
  );
}

/** Relative specifiers of static and dynamic imports and `new URL('…', import.meta.url)`. */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:from\s+|import\s*\(\s*|new URL\(\s*)(['"])(\.\.?\/[^'"]+)\1/g;
  for (const m of source.matchAll(re)) out.push(m[2]);
  return out;
}

function roomOf(file: string): { room: Room | 'top'; sub?: string } {
  const [first, second] = relative(PIPELINE, file).split('/');
  if (first.endsWith('.ts')) return { room: 'top' };
  if (!(ROOMS as readonly string[]).includes(first)) throw new Error(`${file}: pipeline/${first}/ is not a room of pipeline/rooms.ts`);
  return { room: first as Room, sub: second?.endsWith('.ts') ? undefined : second };
}

/** Paths outside pipeline/ that pipeline code may name: the worker launcher, package.json (the version) and the project root (Astro's). */
const OUTSIDE_ALLOWED = new Set(['bin/worker.mjs', 'package.json', '']);

const rank = (r: Room | 'top') => (r === 'top' ? -1 : ROOMS.indexOf(r));

export function violations(files: string[]): string[] {
  const bad: string[] = [];
  for (const file of files) {
    const from = roomOf(file);
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = resolve(dirname(file), spec);
      if (!target.startsWith(PIPELINE + '/')) {
        if (OUTSIDE_ALLOWED.has(relative(ROOT, target))) continue;
        bad.push(`${relative(ROOT, file)} imports ${spec}, outside pipeline/`);
        continue;
      }
      const to = roomOf(target);
      const where = `${relative(ROOT, file)} → ${relative(ROOT, target)}`;
      if (from.room === 'top' || to.room === 'top') continue;
      if (rank(to.room) > rank(from.room)) bad.push(`${where}: ${from.room} must not import ${to.room} (a later room)`);
      else if (from.room === to.room && SIBLING_ROOMS.includes(from.room) && from.sub && to.sub && from.sub !== to.sub)
        bad.push(`${where}: ${from.room}/${from.sub} must not import ${from.room}/${to.sub}`);
    }
  }
  return bad;
}

describe('pipeline layout', () => {
  const files = walk(PIPELINE);

  it('has only the rooms of pipeline/rooms.ts, rooms.ts itself and the entry points at the top', () => {
    const top = readdirSync(PIPELINE).sort();
    expect(top).toEqual([...ROOMS, 'rooms.ts', ...ENTRY_POINTS].sort());
  });

  it('deepvis/content (content.ts) reaches only the content room and the rooms below the graph (and zod): no engine behind the types', () => {
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const spec of importsOf(readFileSync(file, 'utf8'))) visit(resolve(dirname(file), spec));
    };
    visit(join(PIPELINE, 'content.ts'));
    const rooms = new Set([...seen].slice(1).map((f) => roomOf(f).room));
    expect([...rooms].sort()).toEqual(['content', 'core', 'io']);
  });

  it('imports only point to the same or an earlier room', () => {
    expect(violations(files)).toEqual([]);
  });

  it('the checker catches an import that points up', () => {
    // engine → stages is a back-edge: a net that knew about the optimize stage.
    const probe = join(PIPELINE, 'engine', 'net', 'build.ts');
    const fake = `import { x } from '../../stages/optimize/stage.ts';\nimport { y } from '../../import/caffe/prototxt.ts';`;
    const found = importsOf(fake).map((s) => resolve(dirname(probe), s));
    expect(found.map((f) => relative(PIPELINE, f))).toEqual(['stages/optimize/stage.ts', 'import/caffe/prototxt.ts']);
    expect(rank(roomOf(found[0]).room)).toBeGreaterThan(rank('engine'));
    expect(rank(roomOf(found[1]).room)).toBeLessThan(rank('engine'));
  });
});
