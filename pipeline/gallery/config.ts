import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { UserError } from '../core/errors.ts';

/**
 * `deepvis run` settings: a validated `deepvis.config.json` (unknown keys are errors) overridden
 * by command-line flags. One object passed down; nothing else reads globals.
 */
export interface RunConfig {
  model: string;
  images: string[];
  profile: ProfileName;
  /** Blob names; empty = the model's default layers. */
  layers: string[];
  /** The data folder (default $DEEPVIS_DATA or data). The config file may also call it `out` (older name). */
  data?: string;
  dist: string;
  base: string;
  backend: string;
  workers?: number;
  seed: number;
  /** Seeds per unit (default: the profile's). */
  seeds?: number;
  /** Steps per optimised image (default: the profile's). */
  steps?: number;
  /** A second model that judges the class units' optimised images (`--judge-model`). */
  judgeModel?: string;
  /** Images per scan chunk: a checkpoint, and the scan's unit of work on shards and queues (default 256). */
  chunk?: number;
  /** ONNX / TF.js models: the --preprocess value (preset, JSON file or key=value list). */
  preprocess?: string;
  /** `--random-weights S`: seeded random weights fill (a prototxt alone) or replace the model's. */
  randomWeights?: number;
}

export type ProfileName = 'quick' | 'paper' | 'full';
export const PROFILES: readonly ProfileName[] = ['quick', 'paper', 'full'];

type FieldType = 'string' | 'string[]' | 'number' | 'profile';
const FIELDS: Record<keyof RunConfig, FieldType> = {
  model: 'string',
  images: 'string[]',
  profile: 'profile',
  layers: 'string[]',
  data: 'string',
  dist: 'string',
  base: 'string',
  backend: 'string',
  workers: 'number',
  seed: 'number',
  seeds: 'number',
  steps: 'number',
  chunk: 'number',
  judgeModel: 'string',
  preprocess: 'string',
  randomWeights: 'number',
};

export const CONFIG_FILE = 'deepvis.config.json';

/** What a run uses for the settings neither the config file nor a flag gives (the model has none). */
export const RUN_DEFAULTS: RunConfig = { model: '', images: [], profile: 'quick', layers: [], dist: 'dist', base: '/', backend: 'auto', seed: 0 };

/** Reads and validates a config file; a missing default file is fine, a missing named one is not. */
export async function readConfigFile(path: string | undefined): Promise<Partial<RunConfig>> {
  const file = path ?? CONFIG_FILE;
  if (!existsSync(file)) {
    if (path) throw new UserError(`config file not found: ${path}`);
    return {};
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new UserError(`${file}: not valid JSON (${(e as Error).message.split('\n')[0]})`);
  }
  return validateConfig(raw, file);
}

export function validateConfig(raw: unknown, where: string): Partial<RunConfig> {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new UserError(`${where}: expected a JSON object`);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key === '$schema') continue;
    if (key === 'out') {
      out.data = checkField(key, value, 'string', where);
      continue;
    }
    const type = FIELDS[key as keyof RunConfig];
    if (!type) throw new UserError(`${where}: unknown key "${key}" (allowed: ${Object.keys(FIELDS).join(', ')})`);
    out[key] = checkField(key, value, type, where);
  }
  return out as Partial<RunConfig>;
}

export function checkProfile(value: unknown, where: string): ProfileName {
  if (typeof value !== 'string' || !PROFILES.includes(value as ProfileName)) {
    throw new UserError(`${where}: unknown profile "${String(value)}" (choose ${PROFILES.join(', ')})`);
  }
  return value as ProfileName;
}

function checkField(key: string, value: unknown, type: FieldType, where: string): unknown {
  const bad = (what: string) => new UserError(`${where}: "${key}" must be ${what}`);
  switch (type) {
    case 'string':
      if (typeof value !== 'string' || !value) throw bad('a non-empty string');
      return value;
    case 'string[]':
      if (typeof value === 'string' && value) return [value];
      if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v)) throw bad('a list of strings');
      return value;
    case 'number':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw bad('a non-negative integer');
      return value;
    case 'profile':
      return checkProfile(value, where);
  }
}
