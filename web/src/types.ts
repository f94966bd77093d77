// Shapes of the management API's answers (SPEC §2), as the dashboard reads them.
//
// They are not imported from the schemas in src/api/ that define them: the dashboard is compiled on
// its own (web/tsconfig.json, rootDir web/src, DOM types only), and a file outside web/src, let alone
// server modules that import node: built-ins, cannot be part of that program. So they are written
// here once more, and test/api.openapi.types.test.ts fails `npm run typecheck` when any of them
// differs from the type json-schema-to-ts derives from the schema the OpenAPI document publishes.

export type ProxyType = 'inbound' | 'outbound';
export type CertificateStatus = 'valid' | 'expiring_soon' | 'expired' | 'not_yet_valid';

/** Caller mTLS on an inbound hostname (SPEC §2): whether a client certificate is asked for. */
export type ClientAuthMode = 'off' | 'optional' | 'required';

export interface ClientAuth {
  mode: ClientAuthMode;
  /** Subjects of the CA certificates callers' certificates must chain to (the bundle itself is not returned). */
  ca_subjects: string[];
  /** Whether a CRL is checked. */
  crl: boolean;
}

export interface Vault {
  id: string;
  name: string;
  environment: 'sandbox' | 'live';
  inbound_host: string;
  /** Caller mTLS on the default inbound host. */
  inbound_client_auth: ClientAuth;
  created_at: string;
}

export interface Credential {
  id: string;
  vault_id: string;
  username: string;
  status: 'active' | 'inactive';
  description: string | null;
  created_at: string;
  /** Only in the answer to the create call. */
  password?: string;
}

export interface UpstreamTls {
  ca_pem?: string;
  verify: boolean;
  servername?: string;
}

export interface Route {
  id: string;
  vault_id: string;
  type: ProxyType;
  destination_override_endpoint: string;
  host_endpoint: string;
  port: number;
  protocol: string;
  source_endpoint: string;
  tags: Record<string, string>;
  entries: unknown[];
  upstream_tls: UpstreamTls;
  created_at: string;
  updated_at: string;
}

export interface ChainEntry {
  subject: string;
  issuer: string;
  not_after: string;
}

/** A warning code (SPEC §2), e.g. `incomplete_chain`. */
export type Warning = string;

export interface Certificate {
  id: string;
  vault_id: string;
  description: string | null;
  proxy_type: ProxyType;
  credential_id: string | null;
  route_id: string | null;
  hosts: string[];
  subject: string;
  issuer: string;
  serial_number: string;
  not_before: string;
  not_after: string;
  fingerprint_sha256: string;
  key_type: 'rsa' | 'ec' | 'ed25519';
  key_size?: number;
  curve?: string;
  sans: string[];
  chain: ChainEntry[];
  status: CertificateStatus;
  warnings: Warning[];
  created_at: string;
  /** Only from GET of one certificate: the public chain, for the preview. */
  certificate_pem?: string;
}

/** A custom inbound hostname with the user's own server certificate. */
export interface Hostname {
  id: string;
  vault_id: string;
  hostname: string;
  subject: string;
  issuer: string;
  serial_number: string;
  not_before: string;
  not_after: string;
  sans: string[];
  chain: ChainEntry[];
  status: CertificateStatus;
  fingerprint_sha256: string;
  client_auth: ClientAuth;
  warnings: Warning[];
  created_at: string;
  updated_at: string;
  /** Only from GET of one hostname: the public chain, for the preview. */
  certificate_pem?: string;
}

/** What a webhook can subscribe to (docs/notifications.md). */
export type WebhookEvent =
  | 'certificate.expiring'
  | 'certificate.expired'
  | 'certificate.created'
  | 'certificate.deleted'
  | 'certificate_request.created'
  | 'hostname.expiring';

export interface Webhook {
  id: string;
  url: string;
  events: WebhookEvent[];
  days_before: number[];
  description: string | null;
  created_at: string;
  /** Only in the answer to the create call: shown once. */
  secret?: string;
}

export interface WebhookAttempt {
  at: string;
  status_code: number | null;
  error: string | null;
}

export interface WebhookDelivery {
  id: string;
  webhook_id: string;
  event_id: string;
  type: WebhookEvent;
  status: 'pending' | 'delivered' | 'failed';
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: string | null;
  delivered_at: string | null;
  created_at: string;
  attempt_log: WebhookAttempt[];
}

/** A certificate request (SPEC §2 "Certificate lifecycle"): a key vaultgate generated and its CSR. */
export interface CertificateRequest {
  id: string;
  vault_id: string;
  proxy_type: ProxyType;
  credential_id: string | null;
  route_id: string | null;
  description: string | null;
  hosts: string[];
  subject: string;
  sans: string[];
  key_type: 'rsa' | 'ec';
  key_size?: number;
  curve?: string;
  csr_pem: string;
  status: 'pending' | 'completed';
  certificate_id: string | null;
  created_at: string;
  completed_at: string | null;
}

/** A token's role (SPEC §2 "API tokens and roles"): what its calls, and its dashboard sessions, may do. */
export type Role = 'admin' | 'operator' | 'viewer';

/** An API token's metadata; the token itself is never readable after it was created. */
export interface ApiToken {
  id: string;
  name: string;
  role: Role;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

/** The answer to the create call: the only time the token is shown. */
export interface CreatedApiToken extends ApiToken {
  token: string;
}

/** Who a session (or a bearer token) is: the token it was signed in with. */
export interface SessionToken {
  id: string;
  name: string;
  role: Role;
}

/** GET /session: the CSRF token of a dashboard session (null for a bearer token) and whose it is. */
export interface Session {
  csrf_token: string | null;
  token: SessionToken;
}

/** One entry of the audit trail (SPEC §2 "Audit"). */
export interface AuditEvent {
  id: string;
  at: string;
  /** `token:<name>`, `dashboard:<name>`, `anonymous` (a failed sign-in) or `system`. */
  actor: string;
  client_address: string | null;
  action: string;
  vault_id: string | null;
  target_id: string | null;
}
