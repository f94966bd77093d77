import type { ErrorCode } from '../../errors.js';
import type { UpstreamTlsState } from './tls-state.js';

/** Why an upstream exchange failed: a closed union, each member mapped to one SPEC §5 code. */
export type UpstreamFailureKind =
  | 'connect_timeout'
  | 'headers_timeout'
  | 'connection_refused'
  | 'dns_failure'
  | 'network_unreachable'
  | 'connection_reset'
  | 'pool_retired'
  | 'tls_context'
  | 'request_body_timeout'
  | 'blocked_address'
  | 'invalid_response'
  | 'client_certificate_required'
  | 'client_certificate_rejected'
  | 'server_certificate_untrusted'
  | 'server_certificate_expired'
  | 'server_hostname_mismatch'
  | 'tls_negotiation_failed'
  | 'not_tls'
  | 'tls_other';

const CODE_OF: Readonly<Record<UpstreamFailureKind, ErrorCode>> = {
  connect_timeout: 'upstream_timeout',
  headers_timeout: 'upstream_timeout',
  connection_refused: 'upstream_unreachable',
  dns_failure: 'upstream_unreachable',
  network_unreachable: 'upstream_unreachable',
  connection_reset: 'upstream_unreachable',
  pool_retired: 'upstream_unreachable',
  tls_context: 'upstream_tls_error',
  // The client's fault, not the upstream's, but it ends the exchange the same way.
  request_body_timeout: 'request_timeout',
  // SPEC §4 (issue 13): 403, where it was 502 upstream_unreachable before.
  blocked_address: 'upstream_blocked',
  invalid_response: 'upstream_unreachable',
  client_certificate_required: 'upstream_client_certificate_rejected',
  client_certificate_rejected: 'upstream_client_certificate_rejected',
  server_certificate_untrusted: 'upstream_certificate_untrusted',
  server_certificate_expired: 'upstream_certificate_untrusted',
  server_hostname_mismatch: 'upstream_certificate_untrusted',
  tls_negotiation_failed: 'upstream_tls_error',
  not_tls: 'upstream_tls_error',
  tls_other: 'upstream_tls_error',
};

export interface UpstreamFailure {
  kind: UpstreamFailureKind;
  code: ErrorCode;
  /** For the user: what happened and what to check. Never holds key material. */
  message: string;
}

export interface FailureContext {
  /** From `tlsStateOf(socket)`; undefined for plain HTTP or when no socket was assigned. */
  tls?: UpstreamTlsState | undefined;
  /** The client certificate the pool presents, if any. */
  certificateId: string | null;
  /** The failure happened on a connection made for this request (not a pooled one). */
  freshConnection: boolean;
}

/** Raised by forward() when a deadline passes; `phase` says which one. */
export class UpstreamTimeoutError extends Error {
  constructor(
    readonly phase: 'connect' | 'headers',
    readonly timeoutMs: number,
  ) {
    super(`upstream ${phase} timeout after ${timeoutMs} ms`);
    this.name = 'UpstreamTimeoutError';
  }
}

/** A request that waited for a connection in a pool whose certificate was deleted meanwhile. */
export class PoolRetiredError extends Error {
  constructor() {
    super('the client certificate of this upstream pool was deleted');
    this.name = 'PoolRetiredError';
  }
}

/**
 * The TLS stack refused to build the client context for this pool (a SHA-1-signed certificate under
 * OpenSSL's security level, a key that does not match, an unusable `ca_pem`). Raised instead of a
 * connection, for every request of that pool, so one bad certificate answers 502 rather than
 * crashing the process. The reason is OpenSSL's sentence; it never holds key material.
 */
export class TlsContextError extends Error {
  readonly code = 'EVAULTGATE_TLS_CONTEXT';
  constructor(
    readonly certificateId: string | null,
    readonly reason: string,
  ) {
    super(
      certificateId === null
        ? `vaultgate cannot build a TLS context toward this upstream (${reason}); check the route's upstream_tls.ca_pem and VAULTGATE_UPSTREAM_CA_FILE`
        : `vaultgate cannot use the client certificate ${certificateId} toward the upstream: the TLS stack refuses it (${reason}); upload a replacement (SHA-256 or better signatures, matching key) and delete this one`,
    );
    this.name = 'TlsContextError';
  }
}

/** Why an upstream address is refused (blocked-ranges.ts). */
export type BlockReason = 'listener' | 'link_local' | 'range';

/**
 * The upstream's address (an IP literal, or every address its name resolved to) is one vaultgate
 * never connects to (blocked-ranges.ts); raised before any connection is attempted.
 */
export class BlockedAddressError extends Error {
  readonly code = 'EVAULTGATE_BLOCKED_ADDRESS';
  constructor(
    readonly host: string,
    readonly address: string,
    readonly reason: BlockReason = 'link_local',
    /** The range of VAULTGATE_BLOCKED_UPSTREAMS that matched, for 'range'. */
    readonly detail = '',
    readonly port = 0,
  ) {
    const via = host === address ? '' : ` (${host} resolves to it)`;
    super(
      reason === 'listener'
        ? `the upstream ${address} port ${port}${via} is vaultgate's own listener; the proxies never forward to vaultgate itself`
        : reason === 'range'
          ? `the upstream address ${address}${via} is in ${detail}, a range VAULTGATE_BLOCKED_UPSTREAMS blocks`
          : `the upstream address ${address}${via} is in a blocked link-local range (169.254.0.0/16, fe80::/10), where cloud metadata services live; set VAULTGATE_BLOCK_LINK_LOCAL=false to allow it`,
    );
    this.name = 'BlockedAddressError';
  }
}

/**
 * Server-certificate verification failures as Node reports them (`err.code` is OpenSSL's
 * X509_V_ERR_* name without the prefix, or ERR_TLS_CERT_ALTNAME_INVALID for the host check).
 */
const VERIFY_CODES = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'UNABLE_TO_GET_CRL',
  'CRL_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * Alerts a server sends about the *client's* certificate (RFC 8446 §6.2, RFC 5246 §7.2.2). The server
 * evaluates no other certificate, so once it has asked for ours these can only mean "not yours".
 */
const CLIENT_CERT_ALERTS = new Set([
  'BAD_CERTIFICATE', // 42
  'UNSUPPORTED_CERTIFICATE', // 43
  'CERTIFICATE_REVOKED', // 44
  'CERTIFICATE_EXPIRED', // 45
  'CERTIFICATE_UNKNOWN', // 46
  'UNKNOWN_CA', // 48
  'ACCESS_DENIED', // 49
  'CERTIFICATE_REQUIRED', // 116, TLS 1.3 only
]);

const NEGOTIATION_CODES = new Set([
  'ERR_SSL_UNSUPPORTED_PROTOCOL',
  'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_NO_SHARED_CIPHER',
  'ERR_SSL_NO_CIPHERS_AVAILABLE',
  'ERR_SSL_NO_SUITABLE_KEY_SHARE',
  'ERR_SSL_WRONG_SSL_VERSION',
  'ERR_SSL_VERSION_TOO_LOW',
]);

const ALERT = /^ERR_SSL_(?:SSLV3|TLSV1|TLSV13)_ALERT_([A-Z_]+)$/;

function describe(kind: UpstreamFailureKind, detail: string): UpstreamFailure {
  return { kind, code: CODE_OF[kind], message: detail };
}

function alertText(name: string): string {
  return name.toLowerCase().replace(/_/g, ' ');
}

/**
 * Sorts any error from an upstream request into the closed union. Reasoning for the TLS cases:
 *
 * - TLS 1.2: client authentication happens inside the handshake. The server sends CertificateRequest
 *   in its first flight, we answer with our Certificate (possibly empty), and a server that dislikes
 *   it aborts with an alert — often handshake_failure(40), e.g. OpenSSL's "peer did not return a
 *   certificate". But 40 is also what "no shared cipher/group" produces, in answer to our ClientHello.
 *   The tell is `tls.certificateRequested` (tls-state.ts): only in the first case did a
 *   CertificateRequest arrive before the alert.
 * - TLS 1.3: the client's handshake completes before the server has checked our certificate, so the
 *   server's alert (certificate_required(116), bad_certificate, unknown_ca…) arrives with the first
 *   read, as an error on the request after it was written. The same alert names apply.
 * - Servers that verify in application code (Node's own TLS server with rejectUnauthorized) close the
 *   connection without an alert. When such a close hits the first request on a connection whose server
 *   asked for a certificate, the certificate is the likely reason, and the message says "probably".
 *   It also covers the TLS 1.3 race where the server's TCP reset overtakes its alert.
 */
export function classifyUpstreamFailure(err: unknown, ctx: FailureContext): UpstreamFailure {
  if (err instanceof UpstreamTimeoutError) {
    return err.phase === 'connect'
      ? describe('connect_timeout', `no connection to the upstream within ${err.timeoutMs / 1000} s`)
      : describe('headers_timeout', `the upstream sent no response headers within ${err.timeoutMs / 1000} s`);
  }
  if (err instanceof PoolRetiredError) {
    return describe(
      'pool_retired',
      'the client certificate for this upstream was deleted while the request waited for a connection; retry the request',
    );
  }
  if (err instanceof BlockedAddressError) return describe('blocked_address', err.message);
  if (err instanceof TlsContextError) return describe('tls_context', err.message);
  const code = errorCode(err);
  const hasCert = ctx.certificateId !== null;
  const requested = ctx.tls?.certificateRequested === true;
  const sawServer = ctx.tls?.serverFlightSeen === true || ctx.tls?.secure === true;

  if (VERIFY_CODES.has(code)) return serverCertificateFailure(code);

  const alert = ALERT.exec(code)?.[1];
  if (alert !== undefined) {
    const refused = CLIENT_CERT_ALERTS.has(alert)
      ? !(sawServer && !requested) // positive evidence that no certificate was asked for overrides
      : alert === 'HANDSHAKE_FAILURE' && requested;
    if (refused) return clientCertificateFailure(hasCert, `TLS alert: ${alertText(alert)}`, true);
    if (alert === 'PROTOCOL_VERSION' || alert === 'HANDSHAKE_FAILURE' || alert === 'INSUFFICIENT_SECURITY') {
      return describe(
        'tls_negotiation_failed',
        `the upstream refused the TLS handshake (TLS alert: ${alertText(alert)}): no TLS version, cipher suite or key exchange group in common`,
      );
    }
    return describe('tls_other', `TLS failure toward the upstream (TLS alert: ${alertText(alert)})`);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || code === 'ERR_SSL_PACKET_LENGTH_TOO_LONG') {
    return describe(
      'not_tls',
      'the upstream did not answer with TLS; check that it serves HTTPS on this port (or use an http:// URL)',
    );
  }
  if (NEGOTIATION_CODES.has(code)) {
    return describe(
      'tls_negotiation_failed',
      `the TLS handshake with the upstream failed (${code}): no TLS version or cipher suite in common`,
    );
  }
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
    return describe('tls_other', `TLS failure toward the upstream (${code})`);
  }

  if (code.startsWith('HPE_')) {
    return describe('invalid_response', `the upstream sent a response that is not valid HTTP/1.1 (${code})`);
  }
  switch (code) {
    case 'ECONNREFUSED':
      return describe(
        'connection_refused',
        'the upstream refused the connection; is it running on that port?',
      );
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
    case 'EAI_FAIL':
      return describe('dns_failure', `the upstream host name could not be resolved (${code})`);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EHOSTDOWN':
    case 'ENETDOWN':
    case 'EADDRNOTAVAIL':
      return describe('network_unreachable', `the upstream host is not reachable (${code})`);
    case 'ETIMEDOUT':
      return describe('connect_timeout', 'the connection to the upstream timed out');
  }

  // Resets, EOFs and "socket hang up" (ECONNRESET) before a response.
  if (requested && ctx.freshConnection) {
    return clientCertificateFailure(hasCert, 'the connection was closed right after the handshake', false);
  }
  if (ctx.tls !== undefined && !ctx.tls.secure) {
    return describe('connection_reset', 'the upstream closed the connection during the TLS handshake');
  }
  return describe('connection_reset', 'the upstream closed the connection before sending a response');
}

const OPENSSL_REASON = /SSL routines:[^:]*:([a-z0-9 ]+):/;

/**
 * The error's code, normalised. A handshake that fails while the HTTP client is writing its request
 * surfaces as `EPROTO` ("write EPROTO …") with OpenSSL's reason only in the message; Node derives its
 * ERR_SSL_* codes from that same reason string, so it is converted the same way.
 */
function errorCode(err: unknown): string {
  const e = (err ?? {}) as NodeJS.ErrnoException;
  const code = typeof e.code === 'string' ? e.code : '';
  if (code.startsWith('ERR_SSL_') || typeof e.message !== 'string') return code;
  const reason = OPENSSL_REASON.exec(e.message)?.[1];
  return reason === undefined ? code : `ERR_SSL_${reason.toUpperCase().replace(/ /g, '_')}`;
}

function serverCertificateFailure(code: string): UpstreamFailure {
  if (code === 'CERT_HAS_EXPIRED') {
    return describe('server_certificate_expired', "the upstream's server certificate has expired");
  }
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') {
    return describe(
      'server_hostname_mismatch',
      "the upstream's server certificate is not valid for this host name; fix the URL or set upstream_tls.servername",
    );
  }
  return describe(
    'server_certificate_untrusted',
    `the upstream's server certificate is not trusted (${code}); add its CA to upstream_tls.ca_pem or VAULTGATE_UPSTREAM_CA_FILE`,
  );
}

function clientCertificateFailure(hasCert: boolean, evidence: string, certain: boolean): UpstreamFailure {
  const probably = certain ? '' : 'probably ';
  if (!hasCert) {
    return describe(
      'client_certificate_required',
      `the upstream asked for a client certificate and none is tied to this route or credential; it ${probably}refused the connection for that (${evidence})`,
    );
  }
  return describe(
    'client_certificate_rejected',
    `the upstream ${probably}rejected the client certificate (${evidence}); check that the certificate tied to this route or credential is the one the upstream expects, and that it is not expired`,
  );
}
