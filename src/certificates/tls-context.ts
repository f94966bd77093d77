/**
 * The one place a certificate chain and its key become an OpenSSL SecureContext — for the upstream
 * pools (client certificates), for inbound server certificates of custom hostnames, and for every
 * check that a certificate is usable (upload validation, the snapshot). Checks build exactly the
 * context the proxies build, so "accepted" means "the TLS stack will load it": OpenSSL's security
 * level (Node 20: level 1 with OpenSSL 3.0) refuses, when the context is built, an intermediate or
 * leaf signed with SHA-1 or MD5 (`ca md too weak`), small keys (`ee key too small`,
 * `ca key too small`) and a key that is not the certificate's (`key values mismatch`) — errors that
 * otherwise surface on the first request that presents the certificate.
 *
 * Cost (2-core machine, P-256 leaf + CA): about 1.5–2.5 ms per context without a trust list, most of
 * it OpenSSL 3.0 decoding the PEM key and certificates; with Node's ~140 roots passed as `ca` it is
 * 35–45 ms, which is why checks pass none and the pools share one context per certificate.
 */
import tls from 'node:tls';
import type { ErrorCode } from '../errors.js';

export interface TlsMaterial {
  /** Leaf first, then intermediates, as PEM: sent whole in the handshake. */
  readonly chainPem: string;
  /** The unencrypted private key as PEM (Node 20's TLS options take no KeyObject). */
  readonly keyPem: string | Buffer;
}

/**
 * The SecureContext options for presenting `material` (or no certificate, for null) while trusting
 * `ca`. Without `ca` Node uses its bundled roots (a shared store, cheap to attach).
 */
export function tlsContextOptions(
  material: TlsMaterial | null,
  ca?: readonly (string | Buffer)[],
): tls.SecureContextOptions {
  return {
    ...(ca === undefined ? {} : { ca: ca as (string | Buffer)[] }),
    ...(material === null ? {} : { cert: material.chainPem, key: material.keyPem }),
  };
}

/** Builds the context; throws OpenSSL's error when the TLS stack refuses the material. */
export function createTlsContext(
  material: TlsMaterial | null,
  ca?: readonly (string | Buffer)[],
): tls.SecureContext {
  return tls.createSecureContext(tlsContextOptions(material, ca));
}

/** Why the TLS stack refuses a certificate and key, in a stable code and words a user can act on. */
export interface TlsRefusal {
  readonly code: Extract<ErrorCode, 'weak_signature' | 'weak_key' | 'key_mismatch' | 'unusable_certificate'>;
  /** A sentence without key material: safe for answers and log lines. */
  readonly message: string;
}

/**
 * Builds the context the proxies would build from `material` and reports why it cannot be built,
 * or null when it can. No trust list is attached: trust concerns the peer, not our own chain, and
 * leaving it out keeps the check cheap.
 */
export function checkTlsMaterial(material: TlsMaterial): TlsRefusal | null {
  try {
    createTlsContext(material, []);
    return null;
  } catch (err) {
    return describeTlsRefusal(err);
  }
}

/** OpenSSL's refusal reasons (the `reason` of its error) in user words. */
const REASONS: Readonly<Record<string, TlsRefusal>> = {
  'ca md too weak': {
    code: 'weak_signature',
    message:
      'The TLS library refuses to send this chain: a certificate in it is signed with a digest that is no longer accepted (SHA-1 or MD5). Ask your CA for a certificate and chain signed with SHA-256 or better.',
  },
  'ee key too small': {
    code: 'weak_key',
    message:
      "The TLS library refuses the certificate's key as too small. Use RSA of 2048 bits or more, or ECDSA P-256 or larger.",
  },
  'ca key too small': {
    code: 'unusable_certificate',
    message:
      'The TLS library refuses this chain: an issuing CA certificate in it has a key that is too small. Ask your CA for a chain issued under a stronger CA key.',
  },
  'key values mismatch': {
    code: 'key_mismatch',
    message:
      "The TLS library refuses the pair: the private key does not belong to the certificate (its public key differs from the certificate's).",
  },
  'key type mismatch': {
    code: 'key_mismatch',
    message:
      "The TLS library refuses the pair: the private key is of another type than the certificate's public key.",
  },
};

export function describeTlsRefusal(err: unknown): TlsRefusal {
  const e = err as { reason?: unknown; message?: unknown };
  const reason = typeof e.reason === 'string' ? e.reason : undefined;
  const known = reason === undefined ? undefined : REASONS[reason];
  if (known !== undefined) return known;
  // OpenSSL's reason strings name a property of the material, never its bytes.
  const words = reason ?? (typeof e.message === 'string' ? e.message : 'an unknown error');
  return {
    code: 'unusable_certificate',
    message: `The TLS library cannot load this certificate and key (OpenSSL: ${words}). Export the certificate, its chain and its key again, or ask your CA for a new certificate.`,
  };
}
