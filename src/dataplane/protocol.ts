/**
 * The messages between the control plane and its data-plane workers, over the fork IPC channel
 * (a socketpair only the two processes hold: another local user cannot read it, which is why the
 * master key may travel here and never in argv or the environment). See docs/architecture.md.
 */
import type { LogLevel, Settings } from '../config/settings.js';
import type { MetricsJson } from '../observability/metrics.js';

export const PROXY_LISTENERS = ['inbound', 'outbound', 'outbound_tls'] as const;
export type ProxyListenerName = (typeof PROXY_LISTENERS)[number];

/** The settings a worker runs with: everything but the secrets it does not need. */
export type WorkerSettings = Omit<Settings, 'masterKey' | 'adminToken'> & {
  masterKey: undefined;
  adminToken: undefined;
};

export type ToWorker =
  | {
      type: 'init';
      /** The worker's slot, 1…VAULTGATE_WORKERS: stable across replacements (the `worker` metric label). */
      workerId: number;
      settings: WorkerSettings;
      /** Opens sealed keys when the worker builds its snapshot from the store. */
      masterKey: Uint8Array;
      /** Keys the credential hashes the outbound proxy checks passwords against. */
      serverSecret: Uint8Array;
      listenerTls: { certPem: string; keyPem: string };
      /** 'stdout': write JSON lines to the inherited stdout; 'forward': send them to the control plane. */
      logs: { mode: 'stdout' | 'forward'; level: LogLevel };
      /** Whether test-only messages are honoured (never set by main.ts). */
      testHooks: boolean;
    }
  /** Sent with the listening handle of that port: accept on it. */
  | { type: 'listen'; name: ProxyListenerName }
  /** Serve a snapshot of at least this store version, then acknowledge. */
  | { type: 'refresh'; id: number; version: number }
  | { type: 'metrics'; id: number }
  /** Stop accepting now, answer in-flight requests with Connection: close, exit when done. */
  | { type: 'drain'; graceMs: number }
  /**
   * An authentication failure another process saw (src/dataplane/shared-throttle.ts); `address` holds
   * its throttle key (listener, client address, username), not only the address.
   */
  | { type: 'auth-failure'; address: string }
  /** Test hook: acknowledge no refresh from now on (a stuck worker). */
  | { type: 'test:ignore-refresh' };

export type FromWorker =
  /** The first snapshot is built: the worker can take its listening handles. */
  | { type: 'built'; version: number }
  | { type: 'listening' }
  | { type: 'refreshed'; id: number; version: number }
  | { type: 'metrics'; id: number; families: MetricsJson }
  /** Sent as soon as the worker's listeners are closed: it accepts no connection any more. */
  | { type: 'draining' }
  | { type: 'log'; line: string }
  | { type: 'auth-failure'; address: string }
  /** The worker cannot start (store unreachable, port refused…); it exits after this. */
  | { type: 'fatal'; message: string; code?: string | undefined };
