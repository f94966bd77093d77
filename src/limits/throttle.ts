/**
 * Throttles authentication failures per client address (admin token, dashboard sign-in, outbound
 * proxy credentials). Once an address has failed `limit` times within a minute, further attempts
 * from it are refused with 429 and Retry-After until its window ends — without even checking the
 * credential, so guessing stops paying. Other addresses are unaffected.
 *
 * Fixed one-minute windows per address keep this O(1) per attempt; the map is swept as it grows so
 * an attacker rotating addresses cannot make it grow without bound.
 */
const WINDOW_MS = 60_000;
const SWEEP_AT = 10_000;

interface Window {
  start: number;
  failures: number;
}

export class FailureThrottle {
  readonly #windows = new Map<string, Window>();

  constructor(
    readonly limit: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the address must wait, or 0 when it may try. */
  retryAfter(address: string): number {
    if (this.limit === 0) return 0;
    const w = this.#windows.get(address);
    if (!w) return 0;
    const t = this.now();
    if (t - w.start >= WINDOW_MS) {
      this.#windows.delete(address);
      return 0;
    }
    return w.failures >= this.limit ? Math.ceil((w.start + WINDOW_MS - t) / 1000) : 0;
  }

  fail(address: string): void {
    const t = this.now();
    let w = this.#windows.get(address);
    if (!w || t - w.start >= WINDOW_MS) {
      if (this.#windows.size >= SWEEP_AT) this.#sweep(t);
      w = { start: t, failures: 0 };
      this.#windows.set(address, w);
    }
    w.failures++;
  }

  #sweep(t: number): void {
    for (const [address, w] of this.#windows) if (t - w.start >= WINDOW_MS) this.#windows.delete(address);
  }
}
