import { FailureThrottle } from '../limits/throttle.js';

/**
 * The authentication-failure throttle of one process, kept in step with the other processes'. A
 * failure seen here is counted here and handed to `relay` (worker → control plane → every other
 * worker); a failure relayed from elsewhere is counted with record(), which does not relay it again.
 * So an address spreading its guesses over the workers (and the admin port) is refused after the
 * same number of failures as with one process, give or take the IPC hop (well under a millisecond).
 */
export class SharedThrottle extends FailureThrottle {
  constructor(
    limit: number,
    private readonly relay: (address: string) => void,
  ) {
    super(limit);
  }

  override fail(address: string): void {
    super.fail(address);
    if (this.limit !== 0) this.relay(address);
  }

  /** A failure another process saw. */
  record(address: string): void {
    super.fail(address);
  }
}
