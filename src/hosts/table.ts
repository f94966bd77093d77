/**
 * A lookup table from host names to values where keys are exact names or one-label wildcards
 * (`*.acme.example`), matched as browsers match a certificate's DNS names (RFC 6125 §6.4.3): the
 * wildcard stands for exactly one non-empty label, so `*.acme.example` covers `a.acme.example` but
 * neither `acme.example` nor `a.b.acme.example`. An exact entry wins over a wildcard.
 *
 * Lookups cost two hash probes whatever the table's size: it is read on every inbound TLS handshake
 * (the SNI callback), where a scan over 1,000 hostnames would be paid per connection.
 */
export class HostTable<T> {
  readonly #exact = new Map<string, T>();
  /** `*.acme.example` is stored under `acme.example`. */
  readonly #wildcard = new Map<string, T>();

  /** `name` lower-case, without a trailing dot; returns false when the key is already taken. */
  add(name: string, value: T): boolean {
    const [map, key] = name.startsWith('*.') ? [this.#wildcard, name.slice(2)] : [this.#exact, name];
    if (map.has(key)) return false;
    map.set(key, value);
    return true;
  }

  /** The value for a host (lower-case, no trailing dot, no port), or undefined. */
  get(host: string): T | undefined {
    const exact = this.#exact.get(host);
    if (exact !== undefined) return exact;
    const dot = host.indexOf('.');
    // "a.b" has a first label "a" and a parent "b"; an empty first label (".b") matches nothing.
    return dot > 0 ? this.#wildcard.get(host.slice(dot + 1)) : undefined;
  }

  get size(): number {
    return this.#exact.size + this.#wildcard.size;
  }

  *values(): IterableIterator<T> {
    yield* this.#exact.values();
    yield* this.#wildcard.values();
  }
}
