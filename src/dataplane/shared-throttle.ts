import { FailureThrottle } from '../limits/throttle.js';

/**
 * The authentication-failure throttle of one process, kept in step with the other processes'. A
 * failure seen here is counted here and handed to `relay` (worker → control plane → every other
 * worker); a failure relayed from elsewhere is counted with record(), which does not relay it again.
 * So an address spreading its guesses over the workers is refused after the same number of failures
 * as with one process, give or take the IPC hop (well under a millisecond). What travels is the
 * throttle key (src/limits/throttle.ts attemptKey: listener, address, subject), never a password.
 */
export class SharedThrottle extends FailureThrottle {
  constructor(
    limit: number,
    /** Gets each key counted here (the IPC message's `address` field carries it). */
    private readonly relay: (key: string) => void,
  ) {
    super(limit);
  }

  override fail(key: string): void {
    super.fail(key);
    if (this.limit !== 0) this.relay(key);
  }

  /** A failure another process saw, by its key. */
  record(key: string): void {
    super.fail(key);
  }
}
