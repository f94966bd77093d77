/**
 * Sorting the PEM blocks of the `certificate` and `private_key` fields: certificates here, exactly one
 * private key there (or inside the certificate bundle), and a precise message for anything else —
 * a CSR, a public key, a PKCS#7 bundle, bare base64.
 */
import { VaultgateError } from '../errors.js';
import {
  CERTIFICATE_LABELS,
  IGNORED_LABELS,
  PRIVATE_KEY_LABELS,
  describeLabel,
  readPemBlocks,
  type PemBlock,
} from './pem.js';

export interface PemUpload {
  readonly certificates: Buffer[];
  /** Private keys found inside the certificate field (a single-file bundle). */
  readonly keys: PemBlock[];
}

function looksLikeBareBase64(text: string): boolean {
  const compact = text.replace(/\s+/g, '');
  return compact.length >= 16 && /^[A-Za-z0-9+/]+={0,2}$/.test(compact);
}

function noPem(field: 'certificate' | 'private_key', text: string): VaultgateError {
  const code = field === 'certificate' ? 'invalid_certificate' : 'invalid_private_key';
  const expected = field === 'certificate' ? '-----BEGIN CERTIFICATE-----' : '-----BEGIN PRIVATE KEY-----';
  const hint = looksLikeBareBase64(text)
    ? ' It looks like base64 without PEM armour: convert it with `openssl x509 -inform der` (or send a .p12 in pkcs12).'
    : '';
  return new VaultgateError(
    code,
    `The ${field} field holds no PEM block; expected text starting with "${expected}".${hint}`,
    field,
  );
}

export function readCertificateBlocks(text: string): PemUpload {
  const blocks = readPemBlocks(text, 'invalid_certificate', 'certificate');
  if (blocks.length === 0) throw noPem('certificate', text);
  const certificates: Buffer[] = [];
  const keys: PemBlock[] = [];
  for (const block of blocks) {
    if (CERTIFICATE_LABELS.has(block.label)) certificates.push(block.der);
    else if (PRIVATE_KEY_LABELS.has(block.label)) keys.push(block);
    else if (!IGNORED_LABELS.has(block.label)) {
      throw new VaultgateError(
        'invalid_certificate',
        `The certificate field holds ${describeLabel(block.label)}.`,
        'certificate',
      );
    }
  }
  if (certificates.length === 0) {
    throw new VaultgateError(
      'invalid_certificate',
      'The certificate field holds no "-----BEGIN CERTIFICATE-----" block. Send the certificate your CA issued, as PEM.',
      'certificate',
    );
  }
  return { certificates, keys };
}

/** The one private-key block of the upload, from private_key or from the certificate bundle. */
export function readKeyField(bundle: PemUpload, privateKey: string | undefined): PemBlock {
  if (privateKey === undefined) {
    const [key, extra] = bundle.keys;
    if (key === undefined) {
      throw new VaultgateError(
        'invalid_private_key',
        'The private key is missing: send it as PEM in private_key, or include it in the certificate bundle.',
        'private_key',
      );
    }
    if (extra !== undefined) {
      throw new VaultgateError(
        'invalid_private_key',
        'The certificate bundle holds more than one private key. Include only the key of the client certificate.',
        'certificate',
      );
    }
    return key;
  }
  if (bundle.keys.length > 0) {
    throw new VaultgateError(
      'invalid_private_key',
      'A private key was sent twice: in the certificate bundle and in private_key. Send it in one place only.',
      'private_key',
    );
  }
  const blocks = readPemBlocks(privateKey, 'invalid_private_key', 'private_key');
  if (blocks.length === 0) throw noPem('private_key', privateKey);
  const keys: PemBlock[] = [];
  for (const block of blocks) {
    if (PRIVATE_KEY_LABELS.has(block.label)) keys.push(block);
    else if (CERTIFICATE_LABELS.has(block.label)) {
      throw new VaultgateError(
        'invalid_private_key',
        'The private_key field holds a certificate. Put certificates in the certificate field and only the key here.',
        'private_key',
      );
    } else if (!IGNORED_LABELS.has(block.label)) {
      throw new VaultgateError(
        'invalid_private_key',
        `The private_key field holds ${describeLabel(block.label)}.`,
        'private_key',
      );
    }
  }
  const [key, extra] = keys;
  if (key === undefined || extra !== undefined) {
    throw new VaultgateError(
      'invalid_private_key',
      key === undefined
        ? 'The private_key field holds no private key block (e.g. "-----BEGIN PRIVATE KEY-----").'
        : 'The private_key field holds more than one private key. Send only the key of the client certificate.',
      'private_key',
    );
  }
  return key;
}
