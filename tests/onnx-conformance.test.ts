/**
 * ONNX operator conformance: the node tests of the ONNX backend test suite (Debian package
 * libonnx-testdata, installed by .ci/run; or ONNX_TESTDATA=…/data) through the importer and the
 * tfjs executor on the cpu backend, outputs within the suite's default tolerance
 * (rtol 1e-3, atol 1e-7). Scope and reasons: tests/helpers/onnx-node-scope.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../pipeline/engine/backend.ts';
import { FOLDABLE } from '../pipeline/import/onnx/fold.ts';
import { SUPPORTED_OPS } from '../pipeline/import/onnx/import.ts';
import { readModel } from '../pipeline/import/onnx/proto.ts';
import { FAMILIES, OUT_OF_SCOPE, REASONS } from './helpers/onnx-node-scope.ts';
import { listNodeTests, nodeTestDir, runNodeTest } from './helpers/onnx-node-tests.ts';

const dir = nodeTestDir();
if (!dir && process.env.CI) throw new Error('ONNX node tests not found: CI must install libonnx-testdata (see .ci/run) or set ONNX_TESTDATA');
const skipReason = dir ? '' : '(skipped: libonnx-testdata is not installed; apt-get install libonnx-testdata, or set ONNX_TESTDATA)';

function selected(root: string): string[] {
  const known = new Set([...SUPPORTED_OPS, ...FOLDABLE]);
  return listNodeTests(root).filter((t) => {
    if (FAMILIES.test(t)) return true;
    const m = readModel(readFileSync(join(root, t, 'model.onnx')), t);
    return m.graph.nodes.every((n) => known.has(n.opType));
  });
}

describe.skipIf(!dir)(`ONNX backend node tests ${skipReason}`, () => {
  const tests = dir ? selected(dir) : [];
  beforeAll(async () => {
    await initBackend('cpu');
  });

  it("selects the issue's families and every test of a supported operator", () => {
    expect(tests.length).toBeGreaterThan(350);
    for (const name of Object.keys(OUT_OF_SCOPE)) expect(tests, `${name} is listed out of scope but not selected`).toContain(name);
    for (const fam of ['conv', 'maxpool', 'averagepool', 'lrn', 'gemm', 'relu', 'concat', 'softmax', 'batchnorm', 'flatten', 'globalaveragepool']) {
      expect(tests.filter((t) => t.startsWith(`test_${fam}`) && !OUT_OF_SCOPE[t]).length, fam).toBeGreaterThan(0);
    }
  });

  for (const name of tests) {
    const reason = OUT_OF_SCOPE[name];
    if (reason) {
      it(`${name} is refused: ${REASONS[reason].text}`, async () => {
        const err = await runNodeTest(join(dir!, name)).then(
          () => undefined,
          (e: Error) => e,
        );
        expect(err, 'the importer accepted it: move it into scope').toBeInstanceOf(Error);
        expect(err!.name).toBe('UserError');
        expect(err!.message).toMatch(REASONS[reason].match);
      });
    } else {
      it(name, async () => {
        const r = await runNodeTest(join(dir!, name));
        expect(r.worstExcess, `max |Δ| ${r.maxAbs}`).toBeLessThanOrEqual(0);
      });
    }
  }
});
