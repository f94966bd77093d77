/**
 * Private keys: decryption, the algorithms and sizes we accept, and proof that a key belongs to a
 * certificate. node:crypto (OpenSSL 3) does the reading; PKCS#1, SEC1, PKCS#8 and encrypted PKCS#8
 * all go through createPrivateKey, which recognises the format from the PEM label.
 */
import { createPrivateKey, sign, verify, type KeyObject, type X509Certificate } from 'node:crypto';
import { VaultgateError } from '../errors.js';
import type { KeyType } from '../store/types.js';
import { parse } from './asn1.js';
import { encryptedKeyAlgorithm, excessiveKdfCost } from './kdf.js';
import { encodePem, type PemBlock } from './pem.js';

export interface KeyInfo {
  readonly keyType: KeyType;
  readonly keySize: number | null;
  readonly curve: string | null;
}

export const MIN_RSA_BITS = 2048;
/** Beyond this one RSA signature (every handshake, and our proof of possession) takes > 50 ms. */
export const MAX_RSA_BITS = 8192;

const CURVES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

/**
 * What OpenSSL 3 reports when it cannot even try the encryption scheme: the cipher needs the legacy
 * provider (DES, RC2, RC4, BF, SEED), or an OID or PEM `DEK-Info` name it does not know. A wrong
 * passphrase shows up instead as ERR_OSSL_BAD_DECRYPT, or — when garbage happens to unpad — as the
 * decoder's ERR_OSSL_UNSUPPORTED (measured: 11–12 in 3,000 wrong passphrases), which is why that
 * code is not in this list and still means bad_passphrase.
 */
const UNSUPPORTED_ENCRYPTION: ReadonlySet<string> = new Set([
  'ERR_OSSL_EVP_UNSUPPORTED',
  'ERR_OSSL_EVP_UNSUPPORTED_CIPHER',
  'ERR_OSSL_EVP_UNKNOWN_PBE_ALGORITHM',
  'ERR_OSSL_EVP_UNSUPPORTED_KEY_DERIVATION_FUNCTION',
  'ERR_OSSL_EVP_UNSUPPORTED_PRF',
  'ERR_OSSL_EVP_UNSUPPORTED_KEYLENGTH',
  'ERR_OSSL_EVP_CIPHER_PARAMETER_ERROR',
  'ERR_OSSL_PEM_UNSUPPORTED_ENCRYPTION',
]);

const SUPPORTED = 'use RSA (2048 bits or more), ECDSA on P-256, P-384 or P-521, or Ed25519';

function isEncrypted(block: PemBlock): boolean {
  if (block.label === 'ENCRYPTED PRIVATE KEY') return true;
  // RFC 1421 legacy encryption, as written by `openssl rsa -aes128 -traditional`.
  return block.headers.some(
    ([name, value]) => name.toLowerCase() === 'proc-type' && value.includes('ENCRYPTED'),
  );
}

/** Reads one private-key PEM block; `field` names the JSON field it came from. */
export function readPrivateKey(block: PemBlock, passphrase: string | undefined, field: string): KeyObject {
  const encrypted = isEncrypted(block);
  if (encrypted && block.label === 'ENCRYPTED PRIVATE KEY') {
    let reason: string | null;
    try {
      reason = excessiveKdfCost(encryptedKeyAlgorithm(parse(block.der)));
    } catch {
      throw new VaultgateError(
        'invalid_private_key',
        'The encrypted private key is damaged: its PKCS#8 structure cannot be read. Export the key again.',
        field,
      );
    }
    if (reason !== null) {
      throw new VaultgateError(
        'invalid_private_key',
        `The encrypted private key cannot be accepted: ${reason}. Re-encrypt it with \`openssl pkcs8 -topk8 -v2 aes-256-cbc\`.`,
        field,
      );
    }
  }
  if (encrypted && (passphrase === undefined || passphrase === '')) {
    throw new VaultgateError(
      'passphrase_required',
      'The private key is encrypted: send its passphrase in the passphrase field.',
      'passphrase',
    );
  }
  try {
    // Encrypted PKCS#8 goes in as DER: from PEM, OpenSSL 3's decoder chain tries one decoder per key
    // type and derives the key again for each, so a wrong passphrase cost three derivations (2 s at
    // the PBKDF2 cap instead of 0.7 s).
    if (block.label === 'ENCRYPTED PRIVATE KEY')
      return createPrivateKey({ key: block.der, format: 'der', type: 'pkcs8', passphrase });
    return createPrivateKey({
      key: encodePem(block.label, block.der, block.headers),
      format: 'pem',
      ...(encrypted ? { passphrase } : {}),
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    // Node 20 reports a missing passphrase as ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED, newer
    // versions as ERR_MISSING_PASSPHRASE; we normally catch it from the PEM label before this.
    if (code === 'ERR_MISSING_PASSPHRASE' || code === 'ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED') {
      throw new VaultgateError(
        'passphrase_required',
        'The private key is encrypted: send its passphrase in the passphrase field.',
        'passphrase',
      );
    }
    if (encrypted && typeof code === 'string' && UNSUPPORTED_ENCRYPTION.has(code)) {
      throw new VaultgateError(
        'invalid_private_key',
        'The private key is encrypted with an algorithm vaultgate cannot use (for example DES, RC2, RC4, Blowfish or SEED, or an unknown cipher, key-derivation function or PRF). Re-encrypt it with `openssl pkcs8 -topk8 -v2 aes-256-cbc`.',
        field,
      );
    }
    if (encrypted) {
      throw new VaultgateError(
        'bad_passphrase',
        'The passphrase does not decrypt the private key. Check the passphrase and try again.',
        'passphrase',
      );
    }
    throw new VaultgateError(
      'invalid_private_key',
      `The private key cannot be read: the "${block.label}" block does not hold a valid key. Export the key again as PEM.`,
      field,
    );
  }
}

/** Reads an unencrypted PKCS#8 PrivateKeyInfo (what PKCS#12 key bags hold once decrypted). */
export function readPkcs8Der(der: Buffer, field: string): KeyObject {
  try {
    return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  } catch {
    throw new VaultgateError(
      'invalid_pkcs12',
      'The private key inside the PKCS#12 file cannot be read.',
      field,
    );
  }
}

/** Checks the algorithm and strength; throws weak_key or invalid_private_key. */
export function describeKey(key: KeyObject, field: string): KeyInfo {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      if (bits < MIN_RSA_BITS) {
        throw new VaultgateError(
          'weak_key',
          `The RSA key has ${bits} bits, which is too weak: use a key of at least ${MIN_RSA_BITS} bits.`,
          field,
        );
      }
      if (bits > MAX_RSA_BITS) {
        throw new VaultgateError(
          'invalid_private_key',
          `The RSA key has ${bits} bits; keys above ${MAX_RSA_BITS} bits are not supported.`,
          field,
        );
      }
      return { keyType: 'rsa', keySize: bits, curve: null };
    }
    case 'ec': {
      const name = details.namedCurve;
      const curve = name === undefined ? undefined : CURVES[name];
      if (curve !== undefined) return { keyType: 'ec', keySize: null, curve };
      if (name === undefined) {
        throw new VaultgateError(
          'invalid_private_key',
          `The EC key uses explicit curve parameters instead of a named curve; ${SUPPORTED}.`,
          field,
        );
      }
      // Curves under 256 bits (prime192v1, secp224r1, sect163…) are below 128-bit security.
      const bits = Number(/\d+/.exec(name)?.[0] ?? '0');
      throw new VaultgateError(
        bits > 0 && bits < 256 ? 'weak_key' : 'invalid_private_key',
        `The EC key uses the curve ${name}, which TLS client certificates here do not support; ${SUPPORTED}.`,
        field,
      );
    }
    case 'ed25519':
      return { keyType: 'ed25519', keySize: null, curve: 'Ed25519' };
    case 'rsa-pss':
      throw new VaultgateError(
        'invalid_private_key',
        'The key is an RSA-PSS-only key (id-RSASSA-PSS); use an ordinary RSA key (rsaEncryption) of 2048 bits or more.',
        field,
      );
    case 'dsa':
      throw new VaultgateError('weak_key', `DSA keys are not accepted; ${SUPPORTED}.`, field);
    default:
      throw new VaultgateError(
        'invalid_private_key',
        `${key.asymmetricKeyType ?? 'This'} keys cannot sign TLS client certificates here; ${SUPPORTED}.`,
        field,
      );
  }
}

/** Whether the certificate's public key is the public half of this private key. */
export function keyMatches(cert: X509Certificate, key: KeyObject): boolean {
  try {
    return cert.checkPrivateKey(key);
  } catch {
    return false;
  }
}

/**
 * Signs and verifies a probe. checkPrivateKey compares only public halves; a key whose private
 * components are corrupt still matches, and would fail later in every handshake.
 */
export function keyCanSign(cert: X509Certificate, key: KeyObject): boolean {
  const probe = Buffer.from('vaultgate proof of possession');
  // Ed25519 takes no separate digest (RFC 8032); the others sign a SHA-256 digest.
  const digest = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  try {
    return verify(digest, probe, cert.publicKey, sign(digest, probe, key));
  } catch {
    return false;
  }
}

export function toPkcs8Pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }).toString();
}
