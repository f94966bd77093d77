/**
 * parseUpload: what a user sends to `POST …/certificates` (SPEC §2) → a normalised chain, an
 * unencrypted PKCS#8 key, metadata and warnings — or a VaultgateError naming the field at fault.
 * Messages never quote key material or the passphrase. The last step builds the TLS context the
 * proxies will build from the result (tls-context.ts), so what is accepted here is what OpenSSL
 * loads. The result is plain data (structured-clone-able), so this can run in a worker thread.
 */
import type { KeyObject } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import type { CertificateMetadata } from '../store/types.js';
import { orderChain, readCertificate, type ParsedCert } from './chain.js';
import { describeKey, keyCanSign, readPkcs8Der, readPrivateKey, toPkcs8Pem } from './keys.js';
import { buildMetadata, collectWarnings, type CertificateWarning } from './metadata.js';
import { readCertificateBlocks, readKeyField, type PemUpload } from './pem-upload.js';
import { decodeStrictBase64, encodePem } from './pem.js';
import { readPkcs12 } from './pkcs12.js';
import { checkTlsMaterial } from './tls-context.js';

export interface UploadInput {
  certificate?: string | undefined;
  private_key?: string | undefined;
  passphrase?: string | undefined;
  /** base64 of a .p12 / .pfx file. */
  pkcs12?: string | undefined;
}

export interface ParsedCertificate {
  /** Leaf first, then intermediates and root, as normalised PEM (64-column lines, LF). */
  chainPem: string;
  /** Unencrypted PKCS#8 PEM. Seal it before it goes anywhere (src/secrets). */
  privateKeyPem: string;
  metadata: CertificateMetadata;
  warnings: CertificateWarning[];
}

/** Per text field; a real chain of ten RSA-4096 certificates is about 20 KiB. */
export const MAX_FIELD_CHARS = 256 * 1024;
export const MAX_PASSPHRASE_CHARS = 1024;
/** Leaf plus intermediates plus root; real chains have 2 to 4. */
export const MAX_CHAIN_LENGTH = 10;

export function parseUpload(input: UploadInput, now: Date = new Date()): ParsedCertificate {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new VaultgateError(
      'invalid_field',
      'The upload must be an object with certificate and private_key, or pkcs12.',
    );
  }
  const certificate = readText(input, 'certificate', MAX_FIELD_CHARS);
  const privateKey = readText(input, 'private_key', MAX_FIELD_CHARS);
  const pkcs12 = readText(input, 'pkcs12', MAX_FIELD_CHARS);
  const passphrase = readText(input, 'passphrase', MAX_PASSPHRASE_CHARS);

  if (pkcs12 !== undefined && (certificate !== undefined || privateKey !== undefined)) {
    throw new VaultgateError(
      'invalid_field',
      'Send either pkcs12, or certificate and private_key as PEM — not both.',
      certificate !== undefined ? 'certificate' : 'private_key',
    );
  }
  const read =
    pkcs12 !== undefined
      ? readPkcs12Upload(pkcs12, passphrase)
      : certificate !== undefined
        ? readPemUpload(certificate, privateKey, passphrase)
        : missingCertificate(privateKey);

  const keyInfo = describeKey(read.key, read.keyField);
  if (read.certs.length > MAX_CHAIN_LENGTH) {
    throw new VaultgateError(
      'invalid_field',
      `The upload holds ${read.certs.length} certificates; at most ${MAX_CHAIN_LENGTH} are accepted. Send the leaf and the CA certificates that issued it.`,
      read.certField,
    );
  }
  const certs = read.certs.map((der, i) => readCertificate(der, i, read.certField));
  const ordered = orderChain(certs, read.key, read.certField, read.keyField);
  const leaf = ordered.chain[0] as ParsedCert;
  if (!keyCanSign(leaf.x509, read.key)) {
    throw new VaultgateError(
      'invalid_private_key',
      'The private key matches the certificate but cannot produce valid signatures: it is damaged. Export the key again.',
      read.keyField,
    );
  }
  if (now.getTime() >= leaf.fields.notAfter.getTime()) {
    throw new VaultgateError(
      'certificate_expired',
      `The certificate expired on ${leaf.fields.notAfter.toISOString()}. Upload a renewed certificate.`,
      read.certField,
    );
  }
  refuseWeakSignatures(ordered.chain, read.certField);
  const chainPem = ordered.chain.map((c) => encodePem('CERTIFICATE', c.der)).join('');
  const privateKeyPem = toPkcs8Pem(read.key);
  const refusal = checkTlsMaterial({ chainPem, keyPem: privateKeyPem });
  if (refusal !== null) {
    throw new VaultgateError(
      refusal.code,
      refusal.message,
      refusal.code === 'key_mismatch' || refusal.code === 'weak_key' ? read.keyField : read.certField,
    );
  }
  return {
    chainPem,
    privateKeyPem,
    metadata: buildMetadata(ordered.chain, keyInfo),
    warnings: collectWarnings(ordered, now.getTime()),
  };
}

/**
 * The leaf and every intermediate must be signed with a digest TLS still accepts. A self-signed
 * root at the top is exempt: it is a trust anchor, whose own signature nobody checks. A self-signed
 * leaf is not: SPEC §2 names the leaf, and peers that pin it still verify it. OpenSSL would refuse
 * the intermediates too (checkTlsMaterial), but reading the algorithm names the certificate and
 * the digest.
 */
function refuseWeakSignatures(chain: readonly ParsedCert[], field: string): void {
  chain.forEach((cert, i) => {
    const digest = cert.fields.weakDigest;
    if (digest === null) return;
    const isAnchor = i > 0 && i === chain.length - 1 && cert.fields.subject === cert.fields.issuer;
    if (isAnchor) return;
    const which = i === 0 ? 'The certificate' : `The intermediate certificate "${cert.fields.subject}"`;
    throw new VaultgateError(
      'weak_signature',
      `${which} is signed with ${digest}, which TLS libraries no longer accept (they refuse to send it). Ask ${i === 0 ? 'your CA' : 'the CA'} for a certificate signed with SHA-256 or better.`,
      field,
    );
  });
}

interface ReadUpload {
  readonly key: KeyObject;
  readonly certs: readonly Buffer[];
  readonly certField: string;
  readonly keyField: string;
}

function readText(input: object, field: keyof UploadInput, max: number): string | undefined {
  const value: unknown = (input as Record<string, unknown>)[field];
  // JSON null is treated as "not sent", as most API clients serialise absent optionals that way.
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new VaultgateError('invalid_field', `${field} must be a string.`, field);
  if (value.length > max) {
    throw new VaultgateError(
      'invalid_field',
      `${field} is too long (${value.length} characters; at most ${max} are accepted).`,
      field,
    );
  }
  // A field that is empty or only whitespace counts as not sent; the passphrase is taken verbatim.
  if (field !== 'passphrase' && value.trim() === '') return undefined;
  return value;
}

function missingCertificate(privateKey: string | undefined): never {
  throw new VaultgateError(
    'invalid_field',
    privateKey === undefined
      ? 'Send the certificate and private_key as PEM, or a pkcs12 file (base64).'
      : 'The certificate is missing: send it as PEM in the certificate field, next to private_key.',
    'certificate',
  );
}

function readPemUpload(
  certificate: string,
  privateKey: string | undefined,
  passphrase: string | undefined,
): ReadUpload {
  const bundle: PemUpload = readCertificateBlocks(certificate);
  const keyBlock = readKeyField(bundle, privateKey);
  const keyField = privateKey === undefined ? 'certificate' : 'private_key';
  return {
    key: readPrivateKey(keyBlock, passphrase, keyField),
    certs: bundle.certificates,
    certField: 'certificate',
    keyField,
  };
}

function readPkcs12Upload(text: string, passphrase: string | undefined): ReadUpload {
  const der = decodeStrictBase64(text);
  if (der === null) {
    throw new VaultgateError(
      'invalid_pkcs12',
      text.includes('-----BEGIN')
        ? 'The pkcs12 field holds PEM text. Send PEM in certificate and private_key instead, or the .p12 file base64-encoded here.'
        : 'The pkcs12 field is not valid base64. Send the .p12/.pfx file base64-encoded, e.g. `base64 -w0 client.p12`.',
      'pkcs12',
    );
  }
  const contents = readPkcs12(der, passphrase);
  const [keyDer, extra] = contents.keys;
  if (keyDer === undefined) {
    throw new VaultgateError(
      'invalid_pkcs12',
      'The PKCS#12 file holds no private key. Export it again including the private key.',
      'pkcs12',
    );
  }
  if (extra !== undefined) {
    throw new VaultgateError(
      'invalid_pkcs12',
      'The PKCS#12 file holds more than one private key. Export only the client certificate and its key.',
      'pkcs12',
    );
  }
  if (contents.certificates.length === 0) {
    throw new VaultgateError(
      'invalid_pkcs12',
      'The PKCS#12 file holds no certificate. Export it again including the certificate.',
      'pkcs12',
    );
  }
  return {
    key: readPkcs8Der(keyDer, 'pkcs12'),
    certs: contents.certificates,
    certField: 'pkcs12',
    keyField: 'pkcs12',
  };
}
