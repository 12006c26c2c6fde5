import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isUserError } from '../../pipeline/core/errors.ts';
import { loadModel } from '../../pipeline/import/load.ts';
import { tempModels } from '../helpers/model-dir.ts';
import { rejection } from '../helpers/errors.ts';

const tmp = tempModels();
afterAll(() => tmp.cleanup());

const PROTO = `name: "tiny"
input: "data" input_dim: 1 input_dim: 3 input_dim: 6 input_dim: 6
layers { name: "fc" type: INNER_PRODUCT bottom: "data" top: "fc" inner_product_param { num_output: 3 } }
layers { name: "prob" type: SOFTMAX bottom: "fc" top: "prob" }
`;

describe('loadModel: folders, labels, preprocessing', () => {
  it('a prototxt alone: no weights, labels from its folder, id = folder name, Caffe defaults', async () => {
    const dir = tmp.dir({ 'net.prototxt': PROTO, 'my_labels.txt': 'cat\ndog\nbird\n\n' });
    const m = await loadModel(join(dir, 'net.prototxt'));
    expect(m.graph.weights).toBeUndefined();
    expect(m.labels).toEqual([
      { index: 0, name: 'cat' },
      { index: 1, name: 'dog' },
      { index: 2, name: 'bird' },
    ]);
    expect(m.id).toMatch(/^deepvis-model-/);
    expect(m.preprocess).toEqual({ size: [6, 6], resize: [256, 256], channelOrder: 'BGR', mean: [104, 117, 123], std: [1, 1, 1], scale: 1 });
  });

  it('prefers deploy.prototxt among several, and synset_words.txt over other labels', async () => {
    const dir = tmp.dir({
      'deploy.prototxt': PROTO,
      'train_val.prototxt': 'garbage {',
      'solver.prototxt': 'x',
      'synset_words.txt': 'n00000001 a, b\nn00000002 c\nn00000003 d\n',
      'labels.txt': 'x\ny\nz\n',
    });
    const m = await loadModel(dir);
    expect(m.labels![0]).toEqual({ index: 0, synset: 'n00000001', name: 'a, b' });
  });

  it('deepvis.json overrides preprocessing; the mean option overrides both', async () => {
    const sidecar = JSON.stringify({ preprocess: { channelOrder: 'RGB', mean: [1, 2, 3], std: [4, 5, 6], resize: [300, 310], scale: 0.5 } });
    const dir = tmp.dir({ 'deploy.prototxt': PROTO, 'deepvis.json': sidecar });
    const m = await loadModel(dir);
    expect(m.preprocess).toEqual({ size: [6, 6], resize: [300, 310], channelOrder: 'RGB', mean: [1, 2, 3], std: [4, 5, 6], scale: 0.5 });
    expect((await loadModel(dir, { mean: [9, 9, 9] })).preprocess.mean).toEqual([9, 9, 9]);
  });

  it('bad folders and sidecars are one-line UserErrors', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ 'a.prototxt': PROTO, 'b.prototxt': PROTO }, /several \.prototxt files \(a\.prototxt, b\.prototxt\) and no deploy\.prototxt/],
      [{ 'readme.txt': 'x' }, /no \.prototxt in the model folder/],
      [{ 'deploy.prototxt': PROTO, 'a.caffemodel': '', 'b.caffemodel': '' }, /several \.caffemodel files/],
      [{ 'deploy.prototxt': PROTO, 'deepvis.json': '{"preprocess": {"mean": [1, 2]}}' }, /deepvis\.json: preprocess\.mean must be 3 numbers/],
      [{ 'deploy.prototxt': PROTO, 'deepvis.json': '{"preproces": {}}' }, /deepvis\.json: unknown key "preproces"/],
      [{ 'deploy.prototxt': PROTO, 'deepvis.json': '{"preprocess": {"channelOrder": "RBG"}}' }, /channelOrder must be "BGR" or "RGB"/],
      [{ 'deploy.prototxt': PROTO, 'deepvis.json': '{' }, /deepvis\.json: .*JSON/],
      [{ 'deploy.prototxt': PROTO, 'labels.txt': 'a\nb\n' }, /labels\.txt: 2 labels, but the net's output "prob" has 3 channels/],
      [{ 'deploy.prototxt': PROTO, 'a_labels.txt': 'a\nb\nc', 'b_labels.txt': 'a\nb\nc' }, /several labels files/],
    ];
    for (const [files, re] of cases) {
      const e = await rejection(loadModel(tmp.dir(files)));
      expect(isUserError(e), e.message).toBe(true);
      expect(e.message).toMatch(re);
      expect(e.message).not.toContain('\n');
    }
  });

  it('a missing path names the accepted forms', async () => {
    const e = await rejection(loadModel('/no/such/model'));
    expect(e.message).toBe(
      'model not found: /no/such/model (expected a folder with a .prototxt, a .prototxt file, or a preset name: bvlc_googlenet, squeezenet_v1.1)',
    );
  });
});
