import { randomUUID } from 'node:crypto';
import type { Settings } from '../config/settings.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { OffloadPool } from '../offload/pool.js';
import type { CredentialHasher } from '../secrets/credentials.js';
import type { Keyring } from '../secrets/keyring.js';
import type { SnapshotHolder } from '../snapshot/holder.js';
import type { Repo, Store } from '../store/types.js';
import type { ApiRequest } from './router.js';
import type { TokenDirectory } from './tokens.js';

/** Everything the management API needs; it never touches a data-plane socket. */
export interface ApiContext {
  readonly settings: Settings;
  readonly store: Store;
  readonly keyring: Keyring;
  readonly hasher: CredentialHasher;
  readonly snapshot: SnapshotHolder;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Threads for CPU-bound checks of user input (uploads, route regexes), off the event loop. */
  readonly offload: OffloadPool;
  readonly localCaPem: string;
  /** The API tokens callers authenticate with (src/api/tokens.ts). */
  readonly tokens: TokenDirectory;
  /** The listeners' ports, once they are bound (for GET /info and the dashboard's proxy line). */
  ports(): { admin: number; inbound: number; outbound: number; outbound_tls: number } | undefined;
  /**
   * The data-plane workers: resolves once every worker serves a snapshot of at least `version` (a
   * worker that does not confirm within 5 s is replaced; the call still resolves). Absent when no
   * worker runs (unit-level harnesses).
   */
  readonly workers?: { awaitVersion(version: number): Promise<void> };
  /** Resolves once vaultgate can serve (database reachable, snapshot built). */
  ready(): Promise<boolean>;
}

export interface AuditEntry {
  actor: string;
  action: string;
  vault_id: string | null;
  target_id: string | null;
  /** The caller's address (SPEC §2); the endpoints that pass it get it from the request. */
  client_address: string | null;
}

/** The audit entry of a change made by this request: its caller and address (SPEC §2 "Audit"). */
export function auditOf(
  req: Pick<ApiRequest, 'actor' | 'remoteAddress'>,
  action: string,
  vaultId: string | null | undefined,
  targetId: string | null | undefined,
): AuditEntry {
  return {
    actor: req.actor,
    action,
    vault_id: vaultId ?? null,
    target_id: targetId ?? null,
    client_address: req.remoteAddress || null,
  };
}

/**
 * The one way the API changes anything: the write and its audit event commit together, and the
 * answer waits until the control plane's snapshot and then every data-plane worker's include the
 * change (SPEC §4 "Changes apply at once", §1a).
 */
export async function commit<T>(
  ctx: ApiContext,
  audit: AuditEntry,
  fn: (repo: Repo) => Promise<T>,
): Promise<T> {
  const result = await ctx.store.write(async (repo) => {
    const value = await fn(repo);
    await repo.insertAuditEvent({
      id: randomUUID(),
      at: new Date().toISOString(),
      ...audit,
      client_address: audit.client_address ?? null,
    });
    return value;
  });
  const next = await ctx.snapshot.refresh();
  await ctx.workers?.awaitVersion(next.version);
  return result;
}
