/**
 * The rooms of pipeline/, in dependency order: a module may import from its own room or from a
 * room listed BEFORE it, never after (tests/architecture.test.ts checks every import). Sub-rooms
 * of `import` (one per format) and of `stages` (one per stage) do not import each other.
 * docs/architecture.md draws the same list as the data flow.
 */
export const ROOMS = [
  'core', // errors, progress lines, seeded random
  'io', // files: atomic writes, .npy, protobuf wire format, image lists
  'graph', // the Model every importer builds: layers, shapes, receptive fields, preprocessing, classes
  'image', // decoding, preprocessing arithmetic, encoding
  'import', // load(spec) → Model: caffe/, onnx/, tfjs/, presets and downloads
  'engine', // running a Model: backends, the tfjs executor (net/), worker pools (workers/)
  'content', // the pipeline ↔ site contract: zod schemas, record writers
  'stages', // classify/, optimize/, scan/: compute on the engine, write content
  'site', // the static gallery: snapshot, Astro build, Pagefind, probe export, serve
  'gallery', // `deepvis run`: profiles, default layers, the stages then the site
  'cli', // the option table, help, commands
] as const;

export type Room = (typeof ROOMS)[number];

/**
 * The package's entry points (package.json `exports`), beside the rooms: `index.ts` (the library
 * API: any room) and `content.ts` (records and schemas: the content room only, no compute engine).
 */
export const ENTRY_POINTS = ['index.ts', 'content.ts'] as const;

/** Rooms whose sub-folders are siblings that must not import each other. */
export const SIBLING_ROOMS: readonly Room[] = ['import', 'stages'];
