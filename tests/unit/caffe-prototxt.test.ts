import { describe, expect, it } from 'vitest';
import { Ident, type TextMessage, parsePrototxt } from '../../pipeline/import/caffe/prototxt.ts';
import { isUserError } from '../../pipeline/core/errors.ts';
import { errorOf } from '../helpers/errors.ts';

describe('prototxt parser', () => {
  it('parses V2 layers: strings, nested messages, repeated fields, numbers', () => {
    const root = parsePrototxt(
      `name: "Net"  # a comment
layer {
  name: "conv1" type: "Convolution"
  bottom: "data" top: "conv1"
  convolution_param: { num_output: 96 kernel_size: 11 stride: 4 pad: 1 pad: 2 }
  param { lr_mult: 1.5e-1 decay_mult: -2 }
}
layer < name: 'a\\'b\\n\\x41\\101' type: "ReLU" relu_param { negative_slope: -.5 } >
`,
      'net.prototxt',
    );
    expect(root.get('name')!.value).toBe('Net');
    const layers = root.all('layer');
    expect(layers).toHaveLength(2);
    const conv = layers[0].value as TextMessage;
    expect(conv.get('type')!.value).toBe('Convolution');
    const cp = conv.get('convolution_param')!.value as TextMessage;
    expect(cp.all('pad').map((f) => f.value)).toEqual([1, 2]);
    expect((conv.get('param')!.value as TextMessage).get('lr_mult')!.value).toBeCloseTo(0.15);
    expect((conv.get('param')!.value as TextMessage).get('decay_mult')!.value).toBe(-2);
    const relu = layers[1].value as TextMessage;
    expect(relu.get('name')!.value).toBe("a'b\nAA");
    expect((relu.get('relu_param')!.value as TextMessage).get('negative_slope')!.value).toBe(-0.5);
    expect(layers[1].line).toBe(8);
  });

  it('parses V1 enums, input_dim, inf/nan, hex, list syntax, adjacent strings, separators', () => {
    const root = parsePrototxt(
      `input: "data"
input_dim: 1 input_dim: 3; input_dim: 0x10, input_dim: 16
layers { name: "p" "1" type: POOLING pooling_param { pool: MAX } }
x: -inf y: nan z: [1, 2.5f, 3e2] flag: true`,
      'v1.prototxt',
    );
    expect(root.all('input_dim').map((f) => f.value)).toEqual([1, 3, 16, 16]);
    const l = root.get('layers')!.value as TextMessage;
    expect(l.get('name')!.value).toBe('p1');
    expect(l.get('type')!.value).toBeInstanceOf(Ident);
    expect(String(l.get('type')!.value)).toBe('POOLING');
    expect(root.get('x')!.value).toBe(-Infinity);
    expect(Number.isNaN(root.get('y')!.value)).toBe(true);
    expect(root.all('z').map((f) => f.value)).toEqual([1, 2.5, 300]);
    expect(String(root.get('flag')!.value)).toBe('true');
  });

  it('names file, line and column on a syntax error', () => {
    const e = errorOf(() => parsePrototxt('layer {\n  name: "a"\n  type "ReLU"\n}\n', 'bad.prototxt'));
    expect(isUserError(e)).toBe(true);
    expect(e.message).toMatch(/^bad\.prototxt:3:8: expected ":" or "\{" after field "type"/);
  });

  it('reports an unclosed message and an unterminated string', () => {
    expect(errorOf(() => parsePrototxt('layer {\n name: "x"\n', 'a.prototxt')).message).toMatch(
      /a\.prototxt:3:1: expected "\}" to close the message opened at 1:7/,
    );
    expect(errorOf(() => parsePrototxt('name: "abc\n', 'b.prototxt')).message).toMatch(/b\.prototxt:1:7: unterminated string/);
    expect(errorOf(() => parsePrototxt('a: 1\n}', 'c.prototxt')).message).toMatch(/c\.prototxt:2:1: expected a field name/);
    expect(errorOf(() => parsePrototxt('a: @', 'd.prototxt')).message).toMatch(/d\.prototxt:1:4: unexpected character "@"/);
  });
});
