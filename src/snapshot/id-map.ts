/**
 * An immutable map by id from which the next version is derived cheaply: ids are spread over
 * BUCKETS buckets by a hash, and `with()` copies only the buckets a change touches plus the array of
 * bucket references. The snapshot's certificates-by-id map is one: copying a Map of 10,000 entries on
 * every upload, in every process, was most of what made an upload slower as certificates
 * accumulated (bench `scale`, upload_cpu_ratio). Hand-written because an immutable-collections
 * library would be a dependency for these forty lines.
 */
const BUCKETS = 256;

function bucketOf(id: string): number {
  // FNV-1a over the id's UTF-16 code units; ids are UUIDs, but any string spreads well enough.
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 0x01000193);
  return (h >>> 0) % BUCKETS;
}

export class IdMap<V> implements ReadonlyMap<string, V> {
  readonly size: number;
  readonly #buckets: readonly ReadonlyMap<string, V>[];

  private constructor(buckets: readonly ReadonlyMap<string, V>[], size: number) {
    this.#buckets = buckets;
    this.size = size;
  }

  static from<V>(entries: Iterable<readonly [string, V]>): IdMap<V> {
    const buckets = Array.from({ length: BUCKETS }, () => new Map<string, V>());
    for (const [id, value] of entries) buckets[bucketOf(id)]?.set(id, value);
    return new IdMap(
      buckets,
      buckets.reduce((n, b) => n + b.size, 0),
    );
  }

  /** A new map: this one with `remove` taken out, then `add` put in; this one is left as it is. */
  with(remove: Iterable<string>, add: Iterable<readonly [string, V]>): IdMap<V> {
    const buckets = [...this.#buckets];
    const copied = new Set<number>();
    const bucket = (id: string): Map<string, V> => {
      const i = bucketOf(id);
      if (!copied.has(i)) {
        buckets[i] = new Map(buckets[i]);
        copied.add(i);
      }
      return buckets[i] as Map<string, V>;
    };
    let size = this.size;
    for (const id of remove) if (bucket(id).delete(id)) size--;
    for (const [id, value] of add) {
      const b = bucket(id);
      if (!b.has(id)) size++;
      b.set(id, value);
    }
    return new IdMap(buckets, size);
  }

  get(id: string): V | undefined {
    return this.#buckets[bucketOf(id)]?.get(id);
  }

  has(id: string): boolean {
    return this.#buckets[bucketOf(id)]?.has(id) ?? false;
  }

  *entries(): MapIterator<[string, V]> {
    for (const b of this.#buckets) yield* b.entries();
  }

  *keys(): MapIterator<string> {
    for (const b of this.#buckets) yield* b.keys();
  }

  *values(): MapIterator<V> {
    for (const b of this.#buckets) yield* b.values();
  }

  [Symbol.iterator](): MapIterator<[string, V]> {
    return this.entries();
  }

  forEach(fn: (value: V, key: string, map: ReadonlyMap<string, V>) => void): void {
    for (const [id, value] of this.entries()) fn(value, id, this);
  }
}
