/**
 * The smallest Reflect metadata API that tsyringe (pulled in by @peculiar/x509 v2) needs. tsyringe
 * refuses to load without `Reflect.getMetadata`, and vaultgate does not depend on `reflect-metadata`.
 * It must be imported before `@peculiar/x509`; `crypto.ts` does so. If a real polyfill is installed
 * first, this module leaves it alone.
 *
 * Metadata lives in a WeakMap keyed by target (and property key), and lookups walk the prototype chain
 * as the proposal specifies, so a subclass sees its parent's `design:paramtypes`.
 */
type Key = string | symbol | undefined;
const store = new WeakMap<object, Map<Key, Map<unknown, unknown>>>();

function own(target: object, property: Key, create: boolean): Map<unknown, unknown> | undefined {
  let byProperty = store.get(target);
  if (!byProperty) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (!entries && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

function lookup(key: unknown, target: object, property: Key): { found: boolean; value: unknown } {
  for (let t: object | null = target; t !== null; t = Object.getPrototypeOf(t) as object | null) {
    const entries = own(t, property, false);
    if (entries?.has(key)) return { found: true, value: entries.get(key) };
  }
  return { found: false, value: undefined };
}

const api = {
  defineMetadata(key: unknown, value: unknown, target: object, property?: Key): void {
    own(target, property, true)?.set(key, value);
  },
  getOwnMetadata(key: unknown, target: object, property?: Key): unknown {
    return own(target, property, false)?.get(key);
  },
  hasOwnMetadata(key: unknown, target: object, property?: Key): boolean {
    return own(target, property, false)?.has(key) ?? false;
  },
  getMetadata(key: unknown, target: object, property?: Key): unknown {
    return lookup(key, target, property).value;
  },
  hasMetadata(key: unknown, target: object, property?: Key): boolean {
    return lookup(key, target, property).found;
  },
  metadata(key: unknown, value: unknown) {
    return (target: object, property?: Key): void => api.defineMetadata(key, value, target, property);
  },
};

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect['getMetadata'] !== 'function') {
  for (const [name, fn] of Object.entries(api)) reflect[name] = fn;
}
