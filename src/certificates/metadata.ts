/**
 * The metadata stored with a certificate and the warnings shown to the user (SPEC §2).
 *
 * Formats: subject/issuer as RFC 4514 one-line names (see names.ts); serial_number as upper-case hex
 * without separators, as `openssl x509 -serial` prints it; fingerprint_sha256 as upper-case hex
 * pairs joined by colons, as `openssl x509 -fingerprint -sha256` prints it; dates as ISO 8601 UTC.
 */
import type { CertificateMetadata } from '../store/types.js';
import type { OrderedChain, ParsedCert } from './chain.js';
import type { KeyInfo } from './keys.js';
import { EXPIRING_SOON_MS } from './status.js';

export type CertificateWarning =
  | 'expires_soon'
  | 'not_yet_valid'
  | 'missing_client_auth_usage'
  | 'incomplete_chain'
  | 'ca_certificate'
  | 'extra_certificates_dropped'
  /** Added when stored, not by parsing: the same certificate is already tied there (src/api/certificates.ts). */
  | 'duplicate';

const CLIENT_AUTH = '1.3.6.1.5.5.7.3.2';
/** RFC 5280 §4.2.1.12: anyExtendedKeyUsage permits every purpose, client authentication included. */
const ANY_EKU = '2.5.29.37.0';

export function buildMetadata(chain: readonly ParsedCert[], key: KeyInfo): CertificateMetadata {
  const leaf = chain[0] as ParsedCert;
  return {
    subject: leaf.fields.subject,
    issuer: leaf.fields.issuer,
    serial_number: leaf.x509.serialNumber.toUpperCase(),
    not_before: leaf.fields.notBefore.toISOString(),
    not_after: leaf.fields.notAfter.toISOString(),
    fingerprint_sha256: leaf.x509.fingerprint256,
    key_type: key.keyType,
    key_size: key.keySize,
    curve: key.curve,
    sans: [...leaf.fields.sans],
    chain: chain.slice(1).map((c) => ({
      subject: c.fields.subject,
      issuer: c.fields.issuer,
      not_after: c.fields.notAfter.toISOString(),
    })),
  };
}

export function collectWarnings(ordered: OrderedChain, now: number): CertificateWarning[] {
  const leaf = ordered.chain[0] as ParsedCert;
  const warnings: CertificateWarning[] = [];
  if (now < leaf.fields.notBefore.getTime()) warnings.push('not_yet_valid');
  if (leaf.fields.notAfter.getTime() - now <= EXPIRING_SOON_MS) warnings.push('expires_soon');
  const eku = leaf.fields.extendedKeyUsage;
  if (eku !== null && !eku.includes(CLIENT_AUTH) && !eku.includes(ANY_EKU)) {
    // TLS servers that check EKU (OpenSSL's X509_PURPOSE_SSL_CLIENT, Java, Go) will refuse it.
    warnings.push('missing_client_auth_usage');
  }
  // Only the leaf's own issuer counts: leaf + intermediate without the root is the usual, complete
  // way to send a chain. Leaf + root with the intermediate missing lands here too (the root is
  // dropped: nothing proves it belongs to this chain).
  if (ordered.chain.length === 1 && !ordered.leafSelfSigned) warnings.push('incomplete_chain');
  if (leaf.fields.isCa) warnings.push('ca_certificate');
  if (ordered.dropped.length > 0) warnings.push('extra_certificates_dropped');
  return warnings;
}
