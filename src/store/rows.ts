/**
 * Conversions between records and table rows. JSON fields are stored as TEXT; integers may come back
 * from PostgreSQL as strings (BIGINT aggregates), so every number goes through Number().
 */
import type { SqlParam } from './db.js';
import type {
  CertificateMetadata,
  CertificateRecord,
  CertificateRequestRecord,
  CertificateRequestStatus,
  CertificateRequestSummary,
  ClientAuthSettings,
  HostnameRecord,
  CertificateSummary,
  CredentialRecord,
  CredentialStatus,
  Environment,
  KeyType,
  ProxyType,
  RouteRecord,
  VaultRecord,
  WebhookDeliveryRecord,
  WebhookRecord,
} from './types.js';

type Row = Record<string, unknown>;

function str(row: Row, column: string): string {
  const value = row[column];
  if (typeof value !== 'string') throw new Error(`Column ${column} holds ${typeof value}, expected text.`);
  return value;
}

function strOrNull(row: Row, column: string): string | null {
  const value = row[column];
  return value === null || value === undefined ? null : str(row, column);
}

function num(row: Row, column: string): number {
  return Number(row[column]);
}

function json<T>(row: Row, column: string): T {
  return JSON.parse(str(row, column)) as T;
}

export const VAULT_COLUMNS = [
  'id',
  'name',
  'environment',
  'outbound_ca_cert_pem',
  'outbound_ca_key_sealed',
  'inbound_client_auth',
  'created_at',
] as const;

export function vaultFromRow(row: Row): VaultRecord {
  return {
    id: str(row, 'id'),
    name: str(row, 'name'),
    environment: str(row, 'environment') as Environment,
    outbound_ca_cert_pem: str(row, 'outbound_ca_cert_pem'),
    outbound_ca_key_sealed: str(row, 'outbound_ca_key_sealed'),
    inbound_client_auth:
      strOrNull(row, 'inbound_client_auth') === null ? null : json(row, 'inbound_client_auth'),
    created_at: str(row, 'created_at'),
  };
}

export function vaultToParams(v: VaultRecord): SqlParam[] {
  return [
    v.id,
    v.name,
    v.environment,
    v.outbound_ca_cert_pem,
    v.outbound_ca_key_sealed,
    v.inbound_client_auth === null ? null : JSON.stringify(v.inbound_client_auth),
    v.created_at,
  ];
}

export const CREDENTIAL_COLUMNS = [
  'id',
  'vault_id',
  'username',
  'password_hash',
  'status',
  'description',
  'created_at',
  'updated_at',
] as const;

export function credentialFromRow(row: Row): CredentialRecord {
  return {
    id: str(row, 'id'),
    vault_id: str(row, 'vault_id'),
    username: str(row, 'username'),
    password_hash: str(row, 'password_hash'),
    status: str(row, 'status') as CredentialStatus,
    description: strOrNull(row, 'description'),
    created_at: str(row, 'created_at'),
    updated_at: str(row, 'updated_at'),
  };
}

export function credentialToParams(c: CredentialRecord): SqlParam[] {
  return [c.id, c.vault_id, c.username, c.password_hash, c.status, c.description, c.created_at, c.updated_at];
}

/** Route columns without seq, which the store assigns. */
export const ROUTE_COLUMNS = [
  'id',
  'vault_id',
  'type',
  'destination_override_endpoint',
  'host_endpoint',
  'port',
  'protocol',
  'source_endpoint',
  'tags',
  'upstream_tls',
  'created_at',
  'updated_at',
] as const;

export function routeFromRow(row: Row): RouteRecord {
  return {
    id: str(row, 'id'),
    vault_id: str(row, 'vault_id'),
    type: str(row, 'type') as ProxyType,
    destination_override_endpoint: str(row, 'destination_override_endpoint'),
    host_endpoint: str(row, 'host_endpoint'),
    port: num(row, 'port'),
    protocol: str(row, 'protocol'),
    source_endpoint: str(row, 'source_endpoint'),
    tags: json(row, 'tags'),
    upstream_tls: json(row, 'upstream_tls'),
    seq: num(row, 'seq'),
    created_at: str(row, 'created_at'),
    updated_at: str(row, 'updated_at'),
  };
}

export function routeToParams(r: Omit<RouteRecord, 'seq'>): SqlParam[] {
  return [
    r.id,
    r.vault_id,
    r.type,
    r.destination_override_endpoint,
    r.host_endpoint,
    r.port,
    r.protocol,
    r.source_endpoint,
    JSON.stringify(r.tags),
    JSON.stringify(r.upstream_tls),
    r.created_at,
    r.updated_at,
  ];
}

export const CERTIFICATE_COLUMNS = [
  'id',
  'vault_id',
  'proxy_type',
  'credential_id',
  'route_id',
  'description',
  'hosts',
  'certificate_pem',
  'private_key_sealed',
  'warnings',
  'subject',
  'issuer',
  'serial_number',
  'not_before',
  'not_after',
  'fingerprint_sha256',
  'key_type',
  'key_size',
  'curve',
  'sans',
  'chain',
  'created_at',
  'updated_at',
] as const;

export function certificateFromRow(row: Row): CertificateRecord {
  return {
    ...certificateSummaryFromRow(row),
    certificate_pem: str(row, 'certificate_pem'),
    private_key_sealed: str(row, 'private_key_sealed'),
  };
}

/** Every certificate column but the two heavy ones (chain PEM, sealed key). */
export const CERTIFICATE_SUMMARY_COLUMNS = CERTIFICATE_COLUMNS.filter(
  (c) => c !== 'certificate_pem' && c !== 'private_key_sealed',
);

export function certificateSummaryFromRow(row: Row): CertificateSummary {
  return {
    ...metadataFromRow(row),
    id: str(row, 'id'),
    vault_id: str(row, 'vault_id'),
    proxy_type: str(row, 'proxy_type') as ProxyType,
    credential_id: strOrNull(row, 'credential_id'),
    route_id: strOrNull(row, 'route_id'),
    description: strOrNull(row, 'description'),
    hosts: json(row, 'hosts'),
    warnings: json(row, 'warnings'),
    created_at: str(row, 'created_at'),
    updated_at: str(row, 'updated_at'),
  };
}

export function certificateToParams(c: CertificateRecord): SqlParam[] {
  return [
    c.id,
    c.vault_id,
    c.proxy_type,
    c.credential_id,
    c.route_id,
    c.description,
    JSON.stringify(c.hosts),
    c.certificate_pem,
    c.private_key_sealed,
    JSON.stringify(c.warnings),
    c.subject,
    c.issuer,
    c.serial_number,
    c.not_before,
    c.not_after,
    c.fingerprint_sha256,
    c.key_type,
    c.key_size,
    c.curve,
    JSON.stringify(c.sans),
    JSON.stringify(c.chain),
    c.created_at,
    c.updated_at,
  ];
}

export const HOSTNAME_COLUMNS = [
  'id',
  'vault_id',
  'hostname',
  'certificate_pem',
  'private_key_sealed',
  'client_auth',
  'warnings',
  'subject',
  'issuer',
  'serial_number',
  'not_before',
  'not_after',
  'fingerprint_sha256',
  'key_type',
  'key_size',
  'curve',
  'sans',
  'chain',
  'created_at',
  'updated_at',
] as const;

function metadataFromRow(row: Row): CertificateMetadata {
  return {
    subject: str(row, 'subject'),
    issuer: str(row, 'issuer'),
    serial_number: str(row, 'serial_number'),
    not_before: str(row, 'not_before'),
    not_after: str(row, 'not_after'),
    fingerprint_sha256: str(row, 'fingerprint_sha256'),
    key_type: str(row, 'key_type') as KeyType,
    key_size: row['key_size'] === null || row['key_size'] === undefined ? null : num(row, 'key_size'),
    curve: strOrNull(row, 'curve'),
    sans: json(row, 'sans'),
    chain: json(row, 'chain'),
  };
}

export function hostnameFromRow(row: Row): HostnameRecord {
  return {
    ...metadataFromRow(row),
    id: str(row, 'id'),
    vault_id: str(row, 'vault_id'),
    hostname: str(row, 'hostname'),
    certificate_pem: str(row, 'certificate_pem'),
    private_key_sealed: str(row, 'private_key_sealed'),
    client_auth: json<ClientAuthSettings>(row, 'client_auth'),
    warnings: json(row, 'warnings'),
    created_at: str(row, 'created_at'),
    updated_at: str(row, 'updated_at'),
  };
}

export function hostnameToParams(h: HostnameRecord): SqlParam[] {
  return [
    h.id,
    h.vault_id,
    h.hostname,
    h.certificate_pem,
    h.private_key_sealed,
    JSON.stringify(h.client_auth),
    JSON.stringify(h.warnings),
    h.subject,
    h.issuer,
    h.serial_number,
    h.not_before,
    h.not_after,
    h.fingerprint_sha256,
    h.key_type,
    h.key_size,
    h.curve,
    JSON.stringify(h.sans),
    JSON.stringify(h.chain),
    h.created_at,
    h.updated_at,
  ];
}

export const WEBHOOK_COLUMNS = [
  'id',
  'url',
  'events',
  'days_before',
  'secret_sealed',
  'description',
  'created_at',
] as const;

export function webhookFromRow(row: Row): WebhookRecord {
  return {
    id: str(row, 'id'),
    url: str(row, 'url'),
    events: json(row, 'events'),
    days_before: json(row, 'days_before'),
    secret_sealed: str(row, 'secret_sealed'),
    description: strOrNull(row, 'description'),
    created_at: str(row, 'created_at'),
  };
}

export function webhookToParams(w: WebhookRecord): SqlParam[] {
  return [
    w.id,
    w.url,
    JSON.stringify(w.events),
    JSON.stringify(w.days_before),
    w.secret_sealed,
    w.description,
    w.created_at,
  ];
}

export const WEBHOOK_DELIVERY_COLUMNS = [
  'id',
  'webhook_id',
  'event_id',
  'type',
  'body',
  'status',
  'attempts',
  'next_attempt_at',
  'claimed_until',
  'last_status_code',
  'last_error',
  'attempt_log',
  'created_at',
  'delivered_at',
] as const;

export function webhookDeliveryFromRow(row: Row): WebhookDeliveryRecord {
  return {
    id: str(row, 'id'),
    webhook_id: str(row, 'webhook_id'),
    event_id: str(row, 'event_id'),
    type: str(row, 'type') as WebhookDeliveryRecord['type'],
    body: str(row, 'body'),
    status: str(row, 'status') as WebhookDeliveryRecord['status'],
    attempts: num(row, 'attempts'),
    next_attempt_at: str(row, 'next_attempt_at'),
    claimed_until: strOrNull(row, 'claimed_until'),
    last_status_code: row['last_status_code'] === null ? null : num(row, 'last_status_code'),
    last_error: strOrNull(row, 'last_error'),
    attempt_log: json(row, 'attempt_log'),
    created_at: str(row, 'created_at'),
    delivered_at: strOrNull(row, 'delivered_at'),
  };
}

export function webhookDeliveryToParams(d: WebhookDeliveryRecord): SqlParam[] {
  return [
    d.id,
    d.webhook_id,
    d.event_id,
    d.type,
    d.body,
    d.status,
    d.attempts,
    d.next_attempt_at,
    d.claimed_until,
    d.last_status_code,
    d.last_error,
    JSON.stringify(d.attempt_log),
    d.created_at,
    d.delivered_at,
  ];
}

export const CERTIFICATE_REQUEST_COLUMNS = [
  'id',
  'vault_id',
  'proxy_type',
  'credential_id',
  'route_id',
  'description',
  'hosts',
  'subject',
  'sans',
  'key_type',
  'key_size',
  'curve',
  'csr_pem',
  'private_key_sealed',
  'status',
  'certificate_id',
  'created_at',
  'completed_at',
] as const;

/** Every certificate request column but the sealed key. */
export const CERTIFICATE_REQUEST_SUMMARY_COLUMNS = CERTIFICATE_REQUEST_COLUMNS.filter(
  (c) => c !== 'private_key_sealed',
);

export function certificateRequestSummaryFromRow(row: Row): CertificateRequestSummary {
  return {
    id: str(row, 'id'),
    vault_id: str(row, 'vault_id'),
    proxy_type: str(row, 'proxy_type') as ProxyType,
    credential_id: strOrNull(row, 'credential_id'),
    route_id: strOrNull(row, 'route_id'),
    description: strOrNull(row, 'description'),
    hosts: json(row, 'hosts'),
    subject: str(row, 'subject'),
    sans: json(row, 'sans'),
    key_type: str(row, 'key_type') as CertificateRequestRecord['key_type'],
    key_size: row['key_size'] === null || row['key_size'] === undefined ? null : num(row, 'key_size'),
    curve: strOrNull(row, 'curve'),
    csr_pem: str(row, 'csr_pem'),
    status: str(row, 'status') as CertificateRequestStatus,
    certificate_id: strOrNull(row, 'certificate_id'),
    created_at: str(row, 'created_at'),
    completed_at: strOrNull(row, 'completed_at'),
  };
}

export function certificateRequestFromRow(row: Row): CertificateRequestRecord {
  return {
    ...certificateRequestSummaryFromRow(row),
    private_key_sealed: strOrNull(row, 'private_key_sealed'),
  };
}

export function certificateRequestToParams(r: CertificateRequestRecord): SqlParam[] {
  return [
    r.id,
    r.vault_id,
    r.proxy_type,
    r.credential_id,
    r.route_id,
    r.description,
    JSON.stringify(r.hosts),
    r.subject,
    JSON.stringify(r.sans),
    r.key_type,
    r.key_size,
    r.curve,
    r.csr_pem,
    r.private_key_sealed,
    r.status,
    r.certificate_id,
    r.created_at,
    r.completed_at,
  ];
}

/** `INSERT INTO table (a, b) VALUES (?, ?)` for the given columns. */
export function insertSql(table: string, columns: readonly string[]): string {
  return `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`;
}
