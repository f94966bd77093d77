import { isIP } from 'node:net';

/**
 * Throttles authentication failures per client address (admin token, dashboard sign-in, outbound
 * proxy credentials). Once an address has failed `limit` times within a minute, further attempts
 * from it are refused with 429 and Retry-After until its window ends — without even checking the
 * credential, so guessing stops paying. Other addresses are unaffected.
 *
 * Fixed one-minute windows per address keep this O(1) per attempt. Memory is bounded however many
 * addresses fail (issue 11):
 *
 * - IPv6 counts per /64: one host usually holds a whole /64 and can pick a new address in it for
 *   every attempt, so a per-address count would neither throttle it nor stay small.
 * - The map keeps at most `maxEntries` windows. Windows sit in the map in the order they opened
 *   (a reopened window is moved to the end), so the expired ones are always at the front: each new
 *   window first drops those, then, if the map is still full, the oldest live one. Evicting a live
 *   window forgives that address early; that takes `maxEntries` other failing addresses within a
 *   minute, and whoever has that many addresses can already make `limit` guesses from each.
 */
const WINDOW_MS = 60_000;
/** About 120 bytes per window: ~6 MB at the cap. */
export const DEFAULT_MAX_ENTRIES = 50_000;

interface Window {
  start: number;
  failures: number;
}

/**
 * What failures are counted against: an IPv4 address as is (also when written IPv4-mapped,
 * `::ffff:192.0.2.1`), an IPv6 address by its /64 prefix, anything else (not an IP) verbatim.
 */
export function throttleKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1] as string;
  const bare = address.split('%')[0] ?? address; // zone id (fe80::1%eth0)
  if (isIP(bare) !== 6) return address;
  return `${expandIpv6(bare).slice(0, 4).join(':')}::/64`;
}

/** The eight 16-bit groups of an IPv6 address, as lower-case hex without leading zeros. */
function expandIpv6(address: string): string[] {
  let text = address.toLowerCase();
  // An embedded IPv4 tail (::1.2.3.4, 64:ff9b::1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, v4.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? [] : new Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...fill, ...right].map((g) => parseInt(g, 16).toString(16));
}

export class FailureThrottle {
  readonly #windows = new Map<string, Window>();
  readonly #maxEntries: number;

  constructor(
    readonly limit: number,
    private readonly now: () => number = Date.now,
    maxEntries: number = DEFAULT_MAX_ENTRIES,
  ) {
    this.#maxEntries = Math.max(1, maxEntries);
  }

  /** Windows held right now (for tests and metrics). */
  get size(): number {
    return this.#windows.size;
  }

  /** Seconds the address must wait, or 0 when it may try. */
  retryAfter(address: string): number {
    if (this.limit === 0) return 0;
    const key = throttleKey(address);
    const w = this.#windows.get(key);
    if (!w) return 0;
    const t = this.now();
    if (t - w.start >= WINDOW_MS) {
      this.#windows.delete(key);
      return 0;
    }
    return w.failures >= this.limit ? Math.ceil((w.start + WINDOW_MS - t) / 1000) : 0;
  }

  fail(address: string): void {
    if (this.limit === 0) return;
    const key = throttleKey(address);
    const t = this.now();
    let w = this.#windows.get(key);
    if (!w || t - w.start >= WINDOW_MS) {
      // Deleted first so that the new window goes to the end: the map stays in opening order.
      if (w) this.#windows.delete(key);
      this.#evict(t);
      w = { start: t, failures: 0 };
      this.#windows.set(key, w);
    }
    w.failures++;
  }

  /** Drops expired windows from the front, then the oldest live ones while the map is full. */
  #evict(t: number): void {
    for (const [key, w] of this.#windows) {
      if (t - w.start < WINDOW_MS && this.#windows.size < this.#maxEntries) break;
      this.#windows.delete(key);
    }
  }
}
