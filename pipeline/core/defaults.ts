/**
 * Options with defaults filled in: a field that is missing or `undefined` takes the default (a
 * plain spread would let an explicit `undefined`, e.g. an absent CLI flag, erase it).
 */
export function withDefaults<T extends object, D extends Partial<T>>(opts: T, defaults: D): T & Required<Pick<T, keyof D & keyof T>> {
  const out: Record<string, unknown> = { ...defaults };
  for (const [k, v] of Object.entries(opts)) if (v !== undefined) out[k] = v;
  return out as T & Required<Pick<T, keyof D & keyof T>>;
}
