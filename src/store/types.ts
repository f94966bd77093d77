/**
 * The store's records and the Store interface. Records are plain, serialisable data: what the
 * database holds, nothing live. The snapshot (src/snapshot) turns them into runtime objects.
 *
 * Timestamps are ISO 8601 UTC strings. Secrets appear here only sealed (see src/secrets/keyring.ts).
 */

import type { CertificateStatus } from '../certificates/status.js';

/** The meta key whose value changes (same transaction) with every certificate insert or delete. */
export const CERTIFICATES_EPOCH = 'certificates_epoch';

/**
 * One step of the certificates table's history (migration 4): the epoch moved from `previous` to
 * `epoch` because one certificate was added, removed or rewritten (`replaced`: its sealed key), or
 * because many changed at once (`reset`: a vault deleted with its certificates).
 */
export interface CertificateChange {
  epoch: string;
  previous: string;
  op: 'added' | 'removed' | 'replaced' | 'reset';
  certificate_id: string | null;
}

export type Environment = 'sandbox' | 'live';
export type ProxyType = 'inbound' | 'outbound';
export type CredentialStatus = 'active' | 'inactive';

/** Caller mTLS on an inbound name (SPEC §2 `client_auth`). */
export type ClientAuthMode = 'off' | 'optional' | 'required';

export interface ClientAuthSettings {
  mode: ClientAuthMode;
  /** The CA bundle caller certificates must chain to; set whenever mode is not `off`. */
  ca_pem?: string | undefined;
  /** Revoked caller certificates (PEM CRLs of those CAs), optional. */
  crl_pem?: string | undefined;
  /** The subjects of ca_pem's certificates, kept so that lists need no parsing. */
  ca_subjects?: string[] | undefined;
}

export interface VaultRecord {
  id: string;
  name: string;
  environment: Environment;
  /** PEM of the vault's outbound CA certificate (public). */
  outbound_ca_cert_pem: string;
  /** The outbound CA's PKCS#8 private key, sealed with AAD `vault:<id>:outbound_ca_key`. */
  outbound_ca_key_sealed: string;
  /** Caller mTLS on the vault's own `<vault_id>.<environment>.<domain>`; null means off. */
  inbound_client_auth: ClientAuthSettings | null;
  created_at: string;
}

export interface CredentialRecord {
  id: string;
  vault_id: string;
  username: string;
  /** hex HMAC-SHA-256 of the password under the server secret. */
  password_hash: string;
  status: CredentialStatus;
  description: string | null;
  created_at: string;
  updated_at: string;
}

export interface UpstreamTlsSettings {
  ca_pem?: string | undefined;
  verify: boolean;
  servername?: string | undefined;
}

export interface RouteRecord {
  id: string;
  vault_id: string;
  type: ProxyType;
  destination_override_endpoint: string;
  host_endpoint: string;
  port: number;
  protocol: string;
  source_endpoint: string;
  tags: Record<string, string>;
  upstream_tls: UpstreamTlsSettings;
  /** Creation order within the store (monotonic); routes are tried in this order. */
  seq: number;
  created_at: string;
  updated_at: string;
}

export interface ChainEntry {
  subject: string;
  issuer: string;
  not_after: string;
}

export type KeyType = 'rsa' | 'ec' | 'ed25519';

/** What a parsed upload tells about a certificate; stored so that lists need no re-parsing. */
export interface CertificateMetadata {
  subject: string;
  issuer: string;
  serial_number: string;
  not_before: string;
  not_after: string;
  fingerprint_sha256: string;
  key_type: KeyType;
  key_size: number | null;
  curve: string | null;
  sans: string[];
  chain: ChainEntry[];
}

export interface CertificateRecord extends CertificateMetadata {
  id: string;
  vault_id: string;
  proxy_type: ProxyType;
  credential_id: string | null;
  route_id: string | null;
  description: string | null;
  hosts: string[];
  /** The public chain, leaf first, as PEM. */
  certificate_pem: string;
  /** PKCS#8 PEM private key, sealed under `certificateKeyAad` (src/secrets/aad.ts). */
  private_key_sealed: string;
  warnings: string[];
  created_at: string;
  /** Its revision: the last PATCH of description or hosts (the material never changes), else created_at. */
  updated_at: string;
}

/** What PATCH …/certificates/{id} may change (SPEC §2); the key and chain never change. */
export interface CertificateEdit {
  description: string | null;
  hosts: string[];
  updated_at: string;
}

/** A certificate without its chain PEM and sealed key: what lists and the snapshot index need. */
export type CertificateSummary = Omit<CertificateRecord, 'certificate_pem' | 'private_key_sealed'>;

/** The heavy columns of a certificate, read only for certificates the snapshot has not seen yet. */
export interface CertificateMaterial {
  id: string;
  certificate_pem: string;
  private_key_sealed: string;
}

/**
 * A custom inbound hostname (SPEC §2): the customer's server certificate for it, sealed like a client
 * certificate's key, and its caller-mTLS settings. Replaced whole by PUT (rotation); `updated_at`
 * tells the snapshot to rebuild its TLS context.
 */
export interface HostnameRecord extends CertificateMetadata {
  id: string;
  vault_id: string;
  /** Lower-case, an exact name or a one-label wildcard (`*.acme.example`). Unique across vaults. */
  hostname: string;
  /** The public chain, leaf first, as PEM. */
  certificate_pem: string;
  /** PKCS#8 PEM private key, sealed under `hostnameKeyAad` (src/secrets/aad.ts). */
  private_key_sealed: string;
  client_auth: ClientAuthSettings;
  warnings: string[];
  created_at: string;
  updated_at: string;
}

export type CertificateRequestStatus = 'pending' | 'completed';

/**
 * A certificate request (SPEC §2 "Certificate lifecycle"): a key pair vaultgate generated, and the
 * CSR signed with it. Completing it turns it into a certificate record tied as requested.
 */
export interface CertificateRequestRecord {
  id: string;
  vault_id: string;
  proxy_type: ProxyType;
  credential_id: string | null;
  route_id: string | null;
  description: string | null;
  hosts: string[];
  /** The CSR's subject as an RFC 4514 string, most specific first. */
  subject: string;
  /** As in certificate metadata: `DNS:…`, `IP:…`, `email:…`. */
  sans: string[];
  key_type: 'rsa' | 'ec';
  key_size: number | null;
  curve: string | null;
  csr_pem: string;
  /**
   * PKCS#8 PEM private key, sealed under `certificateRequestKeyAad` (src/secrets/aad.ts); null once
   * completed, when the certificate record holds the key.
   */
  private_key_sealed: string | null;
  status: CertificateRequestStatus;
  certificate_id: string | null;
  created_at: string;
  completed_at: string | null;
}

/** A request without its sealed key: what lists need. */
export type CertificateRequestSummary = Omit<CertificateRequestRecord, 'private_key_sealed'>;

export interface CertificateRequestFilter {
  vaultId: string;
  status?: CertificateRequestStatus | undefined;
}

export interface AuditEventRecord {
  id: string;
  at: string;
  actor: string;
  action: string;
  vault_id: string | null;
  target_id: string | null;
  /** The caller's address (SPEC §2); null for events from before it was recorded. */
  client_address: string | null;
}

/** A dashboard session (src/api/auth.ts): only keyed hashes of the cookie and of the token. */
export interface DashboardSessionRecord {
  id_hash: string;
  /** A public id for audit events, unrelated to the cookie. */
  id: string;
  /** The API token it was signed in with (src/api/tokens.ts); the session ends with that token. */
  token_id: string;
  /** That token's keyed hash when the session began: a bootstrap token replaced since ends it too. */
  token_hash: string;
  created_at: string;
  expires_at: string;
}

export const API_TOKEN_ROLES = ['viewer', 'operator', 'admin'] as const;
export type ApiTokenRole = (typeof API_TOKEN_ROLES)[number];

/** An API token (SPEC §2 "API tokens and roles"): only a keyed hash of the token itself. */
export interface ApiTokenRecord {
  id: string;
  name: string;
  role: ApiTokenRole;
  token_hash: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** What a webhook can subscribe to (SPEC §2 "Expiry notifications"). */
export const WEBHOOK_EVENTS = [
  'certificate.expiring',
  'certificate.expired',
  'certificate.created',
  'certificate.deleted',
  'certificate_request.created',
  'hostname.expiring',
] as const;

export type WebhookEvent = (typeof WEBHOOK_EVENTS)[number];

export interface WebhookRecord {
  id: string;
  url: string;
  events: WebhookEvent[];
  /** Days before not_after at which certificate.expiring / hostname.expiring fire, descending. */
  days_before: number[];
  /** The signing secret, sealed under `webhookSecretAad(id)` (src/secrets/aad.ts). */
  secret_sealed: string;
  description: string | null;
  created_at: string;
}

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** One attempt of a delivery: the receiver's HTTP status, or why there was none. */
export interface DeliveryAttempt {
  at: string;
  status_code: number | null;
  error: string | null;
}

/** An event on its way to one webhook (migration 6): the outbox row the scheduler sends. */
export interface WebhookDeliveryRecord {
  id: string;
  webhook_id: string;
  event_id: string;
  type: WebhookEvent;
  /** The exact JSON text that is signed and sent. */
  body: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: string;
  /** The lease of the instance sending it now; null or past when nobody is. */
  claimed_until: string | null;
  last_status_code: number | null;
  last_error: string | null;
  attempt_log: DeliveryAttempt[];
  created_at: string;
  delivered_at: string | null;
}

/** A notification that fired once for good (migration 6): certificate or hostname, type, threshold. */
export interface NotificationMark {
  subject_id: string;
  type: WebhookEvent;
  threshold_days: number;
}

/** The outcome of one attempt, written by the instance that claimed the delivery. */
export interface DeliveryOutcome {
  id: string;
  /** The lease the claim took: a row whose lease another instance has taken since is left alone. */
  claimed_until: string;
  status: DeliveryStatus;
  attempt: DeliveryAttempt;
  /** When to try again (status pending). */
  next_attempt_at: string;
}

export interface CertificateFilter {
  vaultId?: string | undefined;
  proxyType?: ProxyType | undefined;
  credentialId?: string | undefined;
  routeId?: string | undefined;
  /**
   * A search (vaultgate's `q`, docs/dashboard.md): a case-insensitive substring of the description,
   * subject, issuer, hosts or SANs, a prefix of the SHA-256 fingerprint (with or without colons), or
   * the exact id. Blank means no search.
   */
  search?: string | undefined;
  /** Only certificates with this validity status at the instant `at` (computeStatus's rule). */
  status?: { is: CertificateStatus; at: number } | undefined;
}

/** Keyset paging in list order (created_at, id): at most `limit` certificates after `after`. */
export interface CertificatePageQuery {
  after?: { created_at: string; id: string } | undefined;
  limit: number;
}

export interface AuditQuery {
  vault_id?: string | undefined;
  actor?: string | undefined;
  action?: string | undefined;
  /** Events at or after this instant (ISO 8601). */
  since?: string | undefined;
  /** Keyset paging, newest first: only events strictly older than this (at, id). */
  before?: { at: string; id: string } | undefined;
  limit?: number | undefined;
}

/**
 * Every query the application makes. The same interface is served inside and outside a write
 * transaction; see Store.write.
 */
export interface Repo {
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;

  listVaults(): Promise<VaultRecord[]>;
  getVault(id: string): Promise<VaultRecord | undefined>;
  insertVault(vault: VaultRecord): Promise<void>;
  /** Deletes the vault and everything in it (credentials, routes, certificates). */
  deleteVault(id: string): Promise<boolean>;
  /** Replaces the vault's mutable fields (name, inbound_client_auth). */
  updateVault(vault: VaultRecord): Promise<void>;
  countVaultDependants(
    id: string,
  ): Promise<{ credentials: number; routes: number; certificates: number; hostnames: number }>;

  listCredentials(vaultId?: string): Promise<CredentialRecord[]>;
  getCredential(vaultId: string, id: string): Promise<CredentialRecord | undefined>;
  insertCredential(credential: CredentialRecord): Promise<void>;
  updateCredential(credential: CredentialRecord): Promise<void>;
  deleteCredential(vaultId: string, id: string): Promise<boolean>;

  /** Routes in creation order (seq ascending). */
  listRoutes(vaultId?: string): Promise<RouteRecord[]>;
  getRoute(vaultId: string, id: string): Promise<RouteRecord | undefined>;
  /** Inserts the route; its seq is assigned by the store and returned. */
  insertRoute(route: Omit<RouteRecord, 'seq'>): Promise<number>;
  updateRoute(route: RouteRecord): Promise<void>;
  deleteRoute(vaultId: string, id: string): Promise<boolean>;

  listCertificates(filter?: CertificateFilter): Promise<CertificateRecord[]>;
  /**
   * Ids and revisions (updated_at), in list order: what a cache keyed by id needs to tell which of
   * its rows are gone or were edited, without reading the rows.
   */
  listCertificateRevisions(filter?: CertificateFilter): Promise<{ id: string; updated_at: string }[]>;
  /**
   * One keyset page of the list (id and sort key, in list order): it costs the page, not the table.
   * The API's list reads this and renders the rest from cached summaries.
   */
  listCertificatePage(
    filter: CertificateFilter,
    page: CertificatePageQuery,
  ): Promise<{ id: string; created_at: string; updated_at: string }[]>;
  getCertificateSummaries(ids: readonly string[]): Promise<CertificateSummary[]>;
  /** The changes recorded from `epoch` on (normally one; several when two instances forked it). */
  listCertificateChangesFrom(epoch: string): Promise<CertificateChange[]>;
  getCertificateMaterial(ids: readonly string[]): Promise<CertificateMaterial[]>;
  getCertificate(vaultId: string, id: string): Promise<CertificateRecord | undefined>;
  insertCertificate(certificate: CertificateRecord): Promise<void>;
  /** Sets description and hosts; false when no such certificate. */
  updateCertificate(vaultId: string, id: string, edit: CertificateEdit): Promise<boolean>;
  /** Replaces a certificate's sealed key (re-sealing under a new binding or master key); nothing else changes. */
  replaceCertificateKeySealed(id: string, sealed: string): Promise<void>;
  deleteCertificate(vaultId: string, id: string): Promise<boolean>;
  /** Certificates tied to the credential or route; with `fingerprint`, only those of that certificate. */
  countCertificatesFor(ref: {
    credentialId?: string;
    routeId?: string;
    fingerprint?: string;
  }): Promise<number>;

  /** Hostnames in creation order. */
  listHostnames(vaultId?: string): Promise<HostnameRecord[]>;
  getHostname(vaultId: string, id: string): Promise<HostnameRecord | undefined>;
  /** The hostname record serving `hostname` (exact key, any vault). */
  findHostname(hostname: string): Promise<HostnameRecord | undefined>;
  insertHostname(hostname: HostnameRecord): Promise<void>;
  updateHostname(hostname: HostnameRecord): Promise<void>;
  deleteHostname(vaultId: string, id: string): Promise<boolean>;

  insertCertificateRequest(request: CertificateRequestRecord): Promise<void>;
  getCertificateRequest(vaultId: string, id: string): Promise<CertificateRequestRecord | undefined>;
  /** One keyset page in creation order (created_at, id), without sealed keys. */
  listCertificateRequestPage(
    filter: CertificateRequestFilter,
    page: CertificatePageQuery,
  ): Promise<CertificateRequestSummary[]>;
  /**
   * Marks a pending request completed as `certificateId` and clears its sealed key; false when no
   * pending request has that id.
   */
  completeCertificateRequest(
    vaultId: string,
    id: string,
    certificateId: string,
    completedAt: string,
  ): Promise<boolean>;
  deleteCertificateRequest(vaultId: string, id: string): Promise<boolean>;
  /** Pending requests tied to the credential or to the route given. */
  countPendingCertificateRequestsFor(ref: { credentialId?: string; routeId?: string }): Promise<number>;

  insertAuditEvent(event: AuditEventRecord): Promise<void>;
  listAuditEvents(query: AuditQuery): Promise<AuditEventRecord[]>;

  insertDashboardSession(session: DashboardSessionRecord): Promise<void>;
  getDashboardSession(idHash: string): Promise<DashboardSessionRecord | undefined>;
  deleteDashboardSession(idHash: string): Promise<DashboardSessionRecord | undefined>;
  /** Sessions past expires_at. */
  deleteStaleDashboardSessions(now: string): Promise<number>;

  // API tokens (src/api/tokens.ts)
  /** Inserts the token; false (nothing written) when one of that name exists. */
  insertApiToken(token: ApiTokenRecord): Promise<boolean>;
  getApiToken(id: string): Promise<ApiTokenRecord | undefined>;
  getApiTokenByHash(tokenHash: string): Promise<ApiTokenRecord | undefined>;
  getApiTokenByName(name: string): Promise<ApiTokenRecord | undefined>;
  /** Creation order (created_at, id), keyset-paged like the other lists. */
  listApiTokens(page: {
    after?: { created_at: string; id: string } | undefined;
    limit: number;
  }): Promise<ApiTokenRecord[]>;
  /** Deletes the token and every dashboard session signed in with it. */
  deleteApiToken(id: string): Promise<ApiTokenRecord | undefined>;
  /** A new hash for the token (the bootstrap token after VAULTGATE_ADMIN_TOKEN changed); its sessions end. */
  replaceApiTokenHash(id: string, tokenHash: string): Promise<void>;
  /** Bookkeeping: when the token was last used (written at most once a minute per process). */
  touchApiToken(id: string, at: string): Promise<void>;

  listWebhooks(): Promise<WebhookRecord[]>;
  getWebhook(id: string): Promise<WebhookRecord | undefined>;
  insertWebhook(webhook: WebhookRecord): Promise<void>;
  /** Deletes the webhook and its deliveries. */
  deleteWebhook(id: string): Promise<boolean>;
  insertWebhookDelivery(delivery: WebhookDeliveryRecord): Promise<void>;
  getWebhookDelivery(id: string): Promise<WebhookDeliveryRecord | undefined>;
  /** A webhook's deliveries, newest first (created_at, id); keyset paging like audit events. */
  listWebhookDeliveries(
    webhookId: string,
    page: { before?: { created_at: string; id: string } | undefined; limit: number },
  ): Promise<WebhookDeliveryRecord[]>;
  /** Ids of pending deliveries due at `now` and not leased by anyone, oldest first. */
  listDueWebhookDeliveries(now: string, limit: number): Promise<string[]>;
  /** The earliest next_attempt_at of a pending delivery, for the scheduler's next wake-up. */
  nextWebhookDeliveryAt(): Promise<string | undefined>;
  /**
   * Takes the lease on a due delivery until `until`: true for exactly one caller across instances
   * sharing the database (a conditional UPDATE; the loser changes no row).
   */
  claimWebhookDelivery(id: string, now: string, until: string): Promise<boolean>;
  /** Records an attempt; false (nothing written) when the lease is no longer the caller's. */
  recordWebhookAttempt(outcome: DeliveryOutcome): Promise<boolean>;
  /** Inserts the mark; false when it already existed (the notification fired before). */
  insertNotificationMark(mark: NotificationMark, at: string): Promise<boolean>;
  /** The marks of these subjects, for the sweep to skip what fired without writing. */
  listNotificationMarks(subjectIds: readonly string[]): Promise<NotificationMark[]>;
  /** Certificates (summaries) whose not_after is at or before `notAfter`. */
  listCertificatesExpiringBy(notAfter: string): Promise<CertificateSummary[]>;

  // master-key rotation (src/secrets/rotate.ts)
  /** Every meta row, in key order (rotation checks that no sealed one is left unknown). */
  listMeta(): Promise<{ key: string; value: string }[]>;
  /** Pending certificate requests with their sealed keys (a completed request holds none). */
  listPendingCertificateRequests(): Promise<CertificateRequestRecord[]>;
  /**
   * Rewrites one sealed value in place, the rest of the row untouched; false when the row is gone.
   * `column` is `table.column`, one of rotate.ts's SEALED_COLUMNS (every such table has an `id`
   * key). The new value must open under the same binding (src/secrets/aad.ts) as the old one.
   * Certificate keys rewritten this way are announced once, with noteCertificateKeysRewritten.
   */
  replaceSealedValue(column: string, id: string, sealed: string): Promise<boolean>;
  /** One `reset` in the certificate change log: every snapshot builder re-reads the certificates. */
  noteCertificateKeysRewritten(): Promise<void>;
  /** Every column of the database's own tables whose name ends in `_sealed`, as `table.column`, sorted. */
  listSealedColumns(dialect: 'sqlite' | 'postgres'): Promise<string[]>;
}

export interface Store {
  readonly backend: 'sqlite' | 'postgres';
  /** Reads outside any transaction. */
  readonly read: Repo;
  /**
   * Runs fn in one write transaction. On success the configuration version is bumped and, with
   * PostgreSQL, other instances are notified. The promise resolves only after the commit is durable.
   * Write transactions are serialised.
   *
   * `bookkeeping`: a write that changes nothing a snapshot holds (the webhook outbox's claims,
   * attempts and marks) commits without bumping the version or notifying anyone, so it makes no
   * process rebuild its snapshot.
   */
  write<T>(fn: (repo: Repo) => Promise<T>, options?: { bookkeeping?: boolean }): Promise<T>;
  /** The configuration version: bumped by every committed write but bookkeeping ones. */
  version(): Promise<number>;
  /** Called when another instance (sharing the database) committed a change, or after a reconnect. */
  onRemoteChange(listener: () => void): void;
  close(): Promise<void>;
}
