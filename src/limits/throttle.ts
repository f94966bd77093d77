import { isIP } from 'node:net';

/**
 * Throttles failed authentications (admin token, dashboard sign-in, outbound proxy credentials) per
 * (listener, client address, subject) — the subject being the username or token the attempt named —
 * and per (listener, client address) over all subjects (issue 13, SPEC §4).
 *
 * The credential is checked first and the throttle only afterwards, on failures: a correct credential
 * is always let in, whatever others sharing its address (a NAT, a load balancer) have failed. A
 * failure over the limit is answered 429 with Retry-After instead of 401/407, and is not counted, so
 * the window stays fixed. This cannot make guessing stop paying for a guesser who would recognise
 * success — nothing can without refusing the right credential too — but every secret it guards is
 * random (admin and API tokens, UUID proxy passwords: ≥ 122 bits), so online guessing is hopeless at
 * any rate; the throttle tells a misconfigured or hostile client to back off, and keeps the failures
 * one address can cause, and the log lines they write, to a known rate.
 *
 * - One subject (a username, the admin token) from one address: `limit` failures a minute.
 * - All subjects from one address: `limit × ADDRESS_FACTOR`, so guessing usernames is throttled too,
 *   while a few apps behind one NAT each mistyping their own password do not get 429 for the others'.
 *
 * Fixed one-minute windows keep this O(1) per attempt. Memory is bounded however many addresses or
 * subjects fail (issue 11):
 *
 * - IPv6 counts per /64: one host usually holds a whole /64 and can pick a new address in it for
 *   every attempt, so a per-address count would neither throttle it nor stay small.
 * - The map keeps at most `maxEntries` windows. Windows sit in the map in the order they opened
 *   (a reopened window is moved to the end), so the expired ones are always at the front: each new
 *   window first drops those, then, if the map is still full, the oldest live one. Evicting a live
 *   window forgives that key early; that takes `maxEntries` other failing keys within a minute, and
 *   whoever can cause that many can already make `limit` guesses from each.
 */
const WINDOW_MS = 60_000;
/** About 120 bytes per address window, up to ~250 with a 64-character subject: ≤ ~12 MB at the cap. */
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
  // A composite key (attemptKey) or a key relayed from another process is kept as it is.
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

/** The per-address limit is this many times the per-subject one (see above). */
export const ADDRESS_FACTOR = 4;
/** A subject longer than this is cut: it is attacker-sized input, and the start is what tells it apart. */
const MAX_SUBJECT = 64;

/** One failed authentication: where, from whom, and which username or token it named. */
export interface Attempt {
  /** 'admin' (API and dashboard sign-in) or 'outbound' (both proxy ports: one credential space). */
  readonly listener: string;
  /** The client's address as the socket reports it. */
  readonly address: string;
  /** The username, or what identifies the token (its prefix); '' when the attempt named none. */
  readonly subject: string;
}

/**
 * The throttle key of an attempt. `subject` undefined gives the key over all subjects of that address.
 * Newlines separate the parts: no address or listener name holds one, so two attempts share a key
 * only when all three parts are equal.
 */
export function attemptKey(listener: string, address: string, subject?: string): string {
  const who = subject === undefined ? '*' : `=${subject.slice(0, MAX_SUBJECT)}`;
  return `${listener}\n${throttleKey(address)}\n${who}`;
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

  /**
   * A failed authentication, reported after the credential was checked (never before: a correct one
   * is let in without asking the throttle). Returns the seconds for Retry-After when the attempt is
   * over a limit — answer 429 then, and it is not counted — or 0 after counting it (answer 401/407).
   */
  failed(attempt: Attempt): number {
    if (this.limit === 0) return 0;
    const one = attemptKey(attempt.listener, attempt.address, attempt.subject);
    const all = attemptKey(attempt.listener, attempt.address);
    const wait = Math.max(this.retryAfter(one), this.retryAfter(all, this.limit * ADDRESS_FACTOR));
    if (wait > 0) return wait;
    this.fail(one);
    this.fail(all);
    return 0;
  }

  /** Seconds the key (an address, or an attemptKey) must wait at this limit, or 0 when it may try. */
  retryAfter(address: string, limit: number = this.limit): number {
    if (limit === 0) return 0;
    const key = throttleKey(address);
    const w = this.#windows.get(key);
    if (!w) return 0;
    const t = this.now();
    if (t - w.start >= WINDOW_MS) {
      this.#windows.delete(key);
      return 0;
    }
    return w.failures >= limit ? Math.ceil((w.start + WINDOW_MS - t) / 1000) : 0;
  }

  /** Counts one failure against the key (an address, or an attemptKey). */
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
