/**
 * Prints the ONNX node-test conformance lists (passing, out of scope by reason) as Markdown, for
 * docs/import-onnx-tfjs.md. Same selection and tolerance as tests/onnx-conformance.test.ts.
 * Usage: node bin/run-ts.mjs scripts/onnx-conformance-report.ts
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initBackend } from '../pipeline/engine/backend.ts';
import { FOLDABLE } from '../pipeline/import/onnx/fold.ts';
import { SUPPORTED_OPS } from '../pipeline/import/onnx/import.ts';
import { readModel } from '../pipeline/import/onnx/proto.ts';
import { FAMILIES, OUT_OF_SCOPE, REASONS, type Reason } from '../tests/helpers/onnx-node-scope.ts';
import { listNodeTests, nodeTestDir, runNodeTest } from '../tests/helpers/onnx-node-tests.ts';

const dir = nodeTestDir();
if (!dir) {
  console.error('libonnx-testdata not found (apt-get install libonnx-testdata, or set ONNX_TESTDATA)');
  process.exit(2);
}
await initBackend('cpu');
const known = new Set([...SUPPORTED_OPS, ...FOLDABLE]);
const all = listNodeTests(dir);
const selected = all.filter((t) => FAMILIES.test(t) || readModel(readFileSync(join(dir, t, 'model.onnx')), t).graph.nodes.every((n) => known.has(n.opType)));
const pass: string[] = [];
const fail: string[] = [];
const out = new Map<Reason, string[]>();
for (const t of selected) {
  const reason = OUT_OF_SCOPE[t];
  try {
    const r = await runNodeTest(join(dir, t));
    (r.worstExcess <= 0 && !reason ? pass : fail).push(t);
  } catch (e) {
    if (reason && (e as Error).name === 'UserError' && REASONS[reason].match.test((e as Error).message)) out.set(reason, [...(out.get(reason) ?? []), t]);
    else fail.push(t);
  }
}
const strip = (ts: string[]) => ts.map((t) => `\`${t.replace(/^test_/, '')}\``).join(', ');
console.log(
  `Of ${all.length} node tests, ${selected.length} selected: **${pass.length} pass**, ${[...out.values()].flat().length} out of scope${fail.length ? `, **${fail.length} FAIL: ${strip(fail)}**` : ''}.\n`,
);
console.log(`### Passing (${pass.length})\n\n${strip(pass)}\n`);
console.log(`### Out of scope (${[...out.values()].flat().length}), refused at import with a one-line error\n`);
for (const [reason, ts] of out) console.log(`- **${REASONS[reason].text}** (${ts.length}): ${strip(ts)}`);
