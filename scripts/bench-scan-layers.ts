/** The gallery layers the scan benchmarks track (every unit of each). */
export const BENCH_LAYERS: Record<string, { spec: string; layers: string[] }> = {
  googlenet: {
    spec: 'bvlc_googlenet',
    layers: [
      'conv1/7x7_s2',
      'conv2/3x3',
      'inception_3a/output',
      'inception_3b/output',
      'inception_4a/output',
      'inception_4b/output',
      'inception_4c/output',
      'inception_4d/output',
      'inception_4e/output',
      'inception_5a/output',
      'inception_5b/output',
      'loss3/classifier',
    ],
  },
  squeezenet: {
    spec: 'squeezenet_v1.1',
    layers: ['conv1', 'fire2/concat', 'fire3/concat', 'fire4/concat', 'fire5/concat', 'fire6/concat', 'fire7/concat', 'fire8/concat', 'fire9/concat', 'conv10'],
  },
};
