import { cacheRoot } from '../core/cache-dir.ts';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { importCaffe } from './caffe/import.ts';
import { UserError } from '../core/errors.ts';
import type { Layer } from '../graph/types.ts';
import { downloadFile, fileSize, type Integrity } from './download.ts';

/**
 * Model presets: `--model bvlc_googlenet` or `--model squeezenet_v1.1`. Resolved to
 * `$DEEPVIS_ASSETS/models/<name>` when that folder exists, else to a cache folder
 * (`$DEEPVIS_CACHE/models/<name>`, default `~/.cache/deepvis/models/<name>`) filled by downloading
 * the files from their public sources, each verified before it is renamed into place.
 *
 * Integrity, per file:
 * - weights: the SHA-1 published with them (BVLC model zoo readme for GoogLeNet; OpenCV's
 *   testdata/dnn/download_models.py for SqueezeNet v1.1, pinned to SqueezeNet commit b5c3f1a);
 * - deploy.prototxt (no published hash): the architecture fingerprint — SHA-256 of the parsed
 *   layer list (names, kinds, blobs, every parameter), so formatting/comments may differ but
 *   the network may not;
 * - synset_words.txt (member of BVLC's caffe_ilsvrc12.tar.gz, no published hash): SHA-256 of its
 *   normalised text (LF line ends, no trailing spaces or blank lines) and its 1000-line count.
 */

export interface PresetFile extends Integrity {
  /** File name in the model folder. */
  name: string;
  /** Upstream URL. */
  url: string;
  /** The URL is a .tar.gz: extract this member (mirrors serve the member itself). */
  tarMember?: string;
}

export interface ModelPreset {
  name: string;
  files: PresetFile[];
}

export interface ResolveOptions {
  /** Serve every file from `<baseUrl>/<preset>/<file name>` instead of the upstream URLs (mirrors, tests). */
  baseUrl?: string;
  /** The cache root (models go to `<cacheDir>/models/<name>`). */
  cacheDir?: string;
  /** The shared assets folder to look in first (default $DEEPVIS_ASSETS; `null` to skip it). */
  assetsDir?: string | null;
  /** ModelPreset table (tests). */
  presets?: Record<string, ModelPreset>;
  quiet?: boolean;
}

/** SHA-256 of a graph's layers in canonical form (sorted keys): the network, not its formatting. */
export function architectureFingerprint(layers: Layer[]): string {
  const canon = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canon)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, canon((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canon(layers)))
    .digest('hex');
}

/** A content check: the prototxt parses and describes exactly the expected network. */
export function prototxtMatches(fingerprint: string): (path: string) => Promise<void> {
  return async (path) => {
    let fp: string;
    try {
      fp = architectureFingerprint((await importCaffe(path)).layers);
    } catch (e) {
      throw new Error(`it does not parse as a Caffe prototxt (${(e as Error).message})`);
    }
    if (fp !== fingerprint) throw new Error(`its architecture fingerprint is ${fp}, expected ${fingerprint}`);
  };
}

/** Normalised text: LF line ends, no trailing whitespace on lines, no trailing blank lines. */
export function normaliseText(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      .split('\n')
      .map((l) => l.replace(/\s+$/, ''))
      .join('\n')
      .replace(/\n+$/, '') + '\n'
  );
}

/** A content check for a labels file: line count and SHA-256 of its normalised text. */
export function labelsMatch(lines: number, sha256: string): (path: string) => Promise<void> {
  return async (path) => {
    const text = normaliseText(await readFile(path, 'utf8'));
    const n = text.split('\n').length - 1;
    if (n !== lines) throw new Error(`it has ${n} lines, expected ${lines}`);
    const h = createHash('sha256').update(text).digest('hex');
    if (h !== sha256) throw new Error(`its normalised SHA-256 is ${h}, expected ${sha256}`);
  };
}

const SYNSET_WORDS: PresetFile = {
  name: 'synset_words.txt',
  url: 'http://dl.caffe.berkeleyvision.org/caffe_ilsvrc12.tar.gz',
  tarMember: 'synset_words.txt',
  check: labelsMatch(1000, 'acf75ef0abe89694b19056e0796401068b459c457baa30335f240c7692857355'),
};

export const MODEL_PRESETS: Record<string, ModelPreset> = {
  bvlc_googlenet: {
    name: 'bvlc_googlenet',
    files: [
      {
        name: 'deploy.prototxt',
        url: 'https://raw.githubusercontent.com/BVLC/caffe/master/models/bvlc_googlenet/deploy.prototxt',
        check: prototxtMatches('bfe87cdd49ccbbcdda24199194d5c70eb4c7a2fba6b5b6a6c85428a9d495d212'),
      },
      SYNSET_WORDS, // small files first: a bad source fails before the big download
      {
        name: 'bvlc_googlenet.caffemodel',
        url: 'http://dl.caffe.berkeleyvision.org/bvlc_googlenet.caffemodel',
        sha1: '405fc5acd08a3bb12de8ee5e23a96bec22f08204',
      },
    ],
  },
  'squeezenet_v1.1': {
    name: 'squeezenet_v1.1',
    files: [
      {
        name: 'deploy.prototxt',
        url: 'https://raw.githubusercontent.com/forresti/SqueezeNet/master/SqueezeNet_v1.1/deploy.prototxt',
        check: prototxtMatches('4d46c84092dcd1e704899483c00e96e2945b01b7e910169919c257405970c6b4'),
      },
      SYNSET_WORDS, // small files first: a bad source fails before the big download
      {
        name: 'squeezenet_v1.1.caffemodel',
        url: 'https://raw.githubusercontent.com/forresti/SqueezeNet/b5c3f1a23713c8b3fd7b801d229f6b04c64374a5/SqueezeNet_v1.1/squeezenet_v1.1.caffemodel',
        sha1: '3397f026368a45ae236403ccc81cfcbe8ebe1bd0',
      },
    ],
  },
};

export const MODEL_PRESET_NAMES = Object.keys(MODEL_PRESETS);

/**
 * A preset name → a model folder (downloading into the cache if needed); undefined when `name`
 * is not a preset. Files already in the cache were verified when they were downloaded (they only
 * get their final name after the checks); a cached file whose size differs from the expected
 * size is downloaded again.
 */
export async function resolvePreset(name: string, opts: ResolveOptions = {}): Promise<string | undefined> {
  const presets = opts.presets ?? MODEL_PRESETS;
  const preset = Object.hasOwn(presets, name) ? presets[name] : undefined;
  if (!preset) return undefined;

  const assets = opts.assetsDir === undefined ? process.env.DEEPVIS_ASSETS : opts.assetsDir;
  if (assets) {
    const dir = resolve(assets, 'models', name);
    if (existsSync(dir) && readdirSync(dir).some((f) => f.endsWith('.prototxt'))) return dir;
  }

  const dir = join(opts.cacheDir ?? cacheRoot(), 'models', name);
  const base = (opts.baseUrl ?? process.env.DEEPVIS_PRESET_BASE_URL)?.replace(/\/+$/, '');
  for (const f of preset.files) {
    const dest = join(dir, f.name);
    const have = await fileSize(dest);
    if (have !== undefined && (f.size === undefined || have === f.size)) continue;
    const url = base ? `${base}/${name}/${f.name}` : f.url;
    try {
      await downloadFile(url, dest, { ...f, tarMember: base ? undefined : f.tarMember, label: `${name}/${f.name}`, quiet: opts.quiet });
    } catch (e) {
      if (e instanceof UserError) throw new UserError(`preset ${name}: ${e.message} (or put the model files in ${dir})`);
      throw e;
    }
  }
  return dir;
}
