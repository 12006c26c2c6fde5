/** Execution providers a user can name with --ort-provider (a light module: the CLI table reads it). */
export const ORT_PROVIDERS = ['cpu', 'cuda', 'tensorrt', 'dml', 'coreml', 'webgpu'] as const;
export type OrtProvider = (typeof ORT_PROVIDERS)[number];
