import type { Settings } from '../config/settings.js';
import type { FailureThrottle } from '../limits/throttle.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { CredentialHasher } from '../secrets/credentials.js';
import type { SwapListener } from '../snapshot/holder.js';
import type { RuntimeConfig } from '../snapshot/types.js';

/**
 * What the data plane is given by the process (src/server.ts). Proxy code reads configuration only
 * from the snapshot and never imports the store or the API.
 */
export interface DataPlaneDeps {
  readonly settings: Settings;
  readonly snapshot: { readonly current: RuntimeConfig; onSwap(listener: SwapListener): void };
  /** Verifies outbound-proxy passwords against the credential hashes in the snapshot. */
  readonly hasher: CredentialHasher;
  /** The certificate of vaultgate's own TLS listeners (inbound, outbound over TLS), signed by the local CA. */
  readonly listenerTls: {
    readonly certPem: string;
    readonly keyPem: string;
    /** Session-ticket keys shared by every worker (secrets/ticket-keys.ts). */
    readonly ticketKeys?: Buffer | undefined;
  };
  /** Shared with the management API: failed proxy authentications count per client address. */
  readonly authThrottle: FailureThrottle;
  readonly logger: Logger;
  readonly metrics: Metrics;
}
