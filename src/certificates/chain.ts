/**
 * Certificates in any order → the leaf (the one whose public key matches the private key) followed
 * by its issuers, each linked by name (X509Certificate.checkIssued, which applies OpenSSL's
 * X509_check_issued: names, key identifiers, keyCertSign) and by signature (verify). Certificates
 * that are not on that path (a CA bundle exported along with a PKCS#12, the root above a missing
 * intermediate) are dropped and reported; a certificate whose issuer is in the upload but whose
 * signature does not verify against it is damaged, and refused.
 */
import { X509Certificate, type KeyObject } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import { keyMatches } from './keys.js';
import { readCertificateFields, type CertificateFields } from './x509-fields.js';

export interface ParsedCert {
  readonly x509: X509Certificate;
  readonly der: Buffer;
  readonly fields: CertificateFields;
}

export interface OrderedChain {
  /** Leaf first, then each issuer in turn. */
  readonly chain: ParsedCert[];
  readonly leafSelfSigned: boolean;
  /** Uploaded certificates that are not part of the leaf's chain; not stored. */
  readonly dropped: ParsedCert[];
}

export function readCertificate(der: Buffer, position: number, field: string): ParsedCert {
  const which = position === 0 ? 'The certificate' : `Certificate number ${position + 1}`;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch {
    throw new VaultgateError(
      'invalid_certificate',
      `${which} in the ${field} field is not a valid X.509 certificate (it may be cut short or damaged). Upload the PEM exactly as your CA issued it.`,
      field,
    );
  }
  // OpenSSL's d2i stops at the end of the certificate; bytes after it mean the block was edited.
  if (x509.raw.length !== der.length) {
    throw new VaultgateError(
      'invalid_certificate',
      `${which} in the ${field} field has extra bytes after it.`,
      field,
    );
  }
  try {
    return { x509, der, fields: readCertificateFields(der) };
  } catch {
    throw new VaultgateError(
      'invalid_certificate',
      `${which} in the ${field} field has fields that cannot be read (names, validity or extensions).`,
      field,
    );
  }
}

function signedBy(cert: ParsedCert, issuer: ParsedCert): boolean {
  try {
    return cert.x509.checkIssued(issuer.x509) && cert.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/**
 * Compared by name and signature, not checkIssued: OpenSSL's check also requires keyCertSign in
 * keyUsage, which a self-signed end-entity certificate rightly lacks.
 */
function selfSigned(cert: ParsedCert): boolean {
  if (cert.fields.subject !== cert.fields.issuer) return false;
  try {
    return cert.x509.verify(cert.x509.publicKey);
  } catch {
    return false;
  }
}

export function orderChain(
  certs: readonly ParsedCert[],
  key: KeyObject,
  field: string,
  keyField: string,
): OrderedChain {
  const unique = dedupe(certs);
  const matching = unique.filter((c) => keyMatches(c.x509, key));
  if (matching.length === 0) {
    throw new VaultgateError(
      'key_mismatch',
      unique.length === 1
        ? "The private key does not belong to this certificate: its public key differs from the certificate's. Upload the key that was generated with this certificate's request."
        : 'The private key does not belong to any of the uploaded certificates: no certificate has its public key. Upload the matching certificate and key.',
      keyField,
    );
  }
  // Several certificates for one key (a renewal that kept the key, or a self-signed CA whose key was
  // sent): the leaf is the one that signed nothing else in the upload.
  const leaf =
    matching.find((m) => !unique.some((o) => o !== m && signedBy(o, m))) ?? (matching[0] as ParsedCert);

  const chain = [leaf];
  const rest = new Set(unique.filter((c) => c !== leaf));
  for (let current = leaf; !selfSigned(current);) {
    const issuer = [...rest].find((c) => signedBy(current, c));
    if (issuer === undefined) break;
    chain.push(issuer);
    rest.delete(issuer);
    current = issuer;
  }
  const top = chain[chain.length - 1] as ParsedCert;
  if (top.fields.subject === top.fields.issuer && !selfSigned(top)) {
    // Self-issued but not self-signed: in practice a self-signed certificate that was altered. (A
    // key-rollover certificate, RFC 4210 §4.4, would also land here; nobody uploads one as a chain.)
    throw new VaultgateError(
      'invalid_certificate',
      `The certificate "${top.fields.subject}" names itself as its issuer but its signature does not verify: it is damaged. Upload it again.`,
      field,
    );
  }
  const damaged = unique.find((c) => !verifiesAgainstClaimedIssuer(c, unique));
  if (damaged !== undefined) {
    throw new VaultgateError(
      'invalid_certificate',
      `The certificate "${damaged.fields.subject}" names "${damaged.fields.issuer}" as its issuer, which is in the upload, but its signature does not verify: one of them is damaged. Upload the certificates exactly as your CA issued them.`,
      field,
    );
  }
  return { chain, leafSelfSigned: selfSigned(leaf), dropped: [...rest] };
}

/**
 * Whether `cert` is signed by one of the uploaded certificates it claims as issuer (by name or by
 * authority key identifier), or claims none of them. Without this, one flipped bit in an
 * intermediate would unlink it from the chain, and it would be silently dropped instead of refused.
 */
function verifiesAgainstClaimedIssuer(cert: ParsedCert, all: readonly ParsedCert[]): boolean {
  const { issuer, authorityKeyId } = cert.fields;
  const claimed = all.filter(
    (o) =>
      o.fields.subject === issuer || (authorityKeyId !== null && o.fields.subjectKeyId === authorityKeyId),
  );
  if (claimed.length === 0) return true;
  return claimed.some((o) => {
    try {
      return cert.x509.verify(o.x509.publicKey);
    } catch {
      return false;
    }
  });
}

function dedupe(certs: readonly ParsedCert[]): ParsedCert[] {
  const seen = new Set<string>();
  return certs.filter((c) => {
    if (seen.has(c.x509.fingerprint256)) return false;
    seen.add(c.x509.fingerprint256);
    return true;
  });
}
