import { createPrivateKey, createPublicKey, randomBytes, webcrypto, type KeyObject } from 'node:crypto';
// Must precede @peculiar/x509: its dependency tsyringe checks for Reflect.getMetadata on load.
import './reflect-metadata.js';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 signs through a WebCrypto provider; Node's own is complete and native. Setting it once
// at import keeps every caller of this folder from having to remember. The cast: when a build includes
// the DOM lib, its `Crypto` and Node's `webcrypto.Crypto` disagree on a few overloads (Ed25519) though
// the runtime object implements the API the library calls.
x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);

export { x509 };

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/**
 * Clients whose clock runs a little behind ours would otherwise reject a certificate minted a second
 * ago as "not yet valid"; one hour of backdating covers ordinary drift without meaningfully
 * lengthening the certificate's life.
 */
export const BACKDATE_MS = HOUR_MS;

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** `days` is the whole span notBefore → notAfter, so limits like CA/B's 398 days hold including the backdating. */
export function validity(days: number, now = Date.now()): Validity {
  if (!Number.isFinite(days) || days <= 0) throw new TypeError('validityDays must be a positive number');
  const notBefore = new Date(Math.floor((now - BACKDATE_MS) / 1000) * 1000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + days * DAY_MS) };
}

/**
 * A 16-byte serial. RFC 5280 §4.1.2.2 wants a positive INTEGER of at most 20 octets, and the CA/B
 * Baseline Requirements (§7.1) want at least 64 random bits. Clearing the top bit keeps the DER
 * INTEGER positive; setting the next one keeps the first octet non-zero so the encoding stays minimal
 * and exactly 16 octets long. That leaves 126 random bits.
 */
export function randomSerial(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x40;
  return bytes.toString('hex');
}

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };

/** A fresh P-256 pair: fast to generate and to sign with, and accepted by every TLS client we care about. */
export async function generateKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

export async function pkcs8Pem(key: webcrypto.CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return toPem(der, 'PRIVATE KEY');
}

export function toPem(der: Buffer, label: string): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

export function certificatePem(cert: x509.X509Certificate): string {
  return toPem(Buffer.from(cert.rawData), 'CERTIFICATE');
}

export interface SigningKey {
  key: webcrypto.CryptoKey;
  algorithm: webcrypto.EcdsaParams | webcrypto.Algorithm;
}

const CURVES: Record<string, { namedCurve: string; hash: string }> = {
  prime256v1: { namedCurve: 'P-256', hash: 'SHA-256' },
  secp384r1: { namedCurve: 'P-384', hash: 'SHA-384' },
  secp521r1: { namedCurve: 'P-521', hash: 'SHA-512' },
};

/**
 * Turns a Node private KeyObject into a WebCrypto signing key. Node 20 has no
 * `KeyObject.toCryptoKey`, so the key crosses over as PKCS#8 DER. Our own CAs are P-256, but a CA
 * created by an older build or by hand may be P-384 or RSA; those work too.
 */
export async function toSigningKey(keyObject: KeyObject): Promise<SigningKey> {
  if (keyObject.type !== 'private') throw new TypeError('caKey must be a private key');
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  if (keyObject.asymmetricKeyType === 'ec') {
    const curve = CURVES[keyObject.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new TypeError('caKey uses an unsupported elliptic curve');
    const key = await webcrypto.subtle.importKey(
      'pkcs8',
      der,
      { name: 'ECDSA', namedCurve: curve.namedCurve },
      false,
      ['sign'],
    );
    return { key, algorithm: { name: 'ECDSA', hash: curve.hash } };
  }
  if (keyObject.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    const key = await webcrypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']);
    return { key, algorithm };
  }
  throw new TypeError(`caKey of type ${String(keyObject.asymmetricKeyType)} is not supported`);
}

/** True when `privateKey` is the key of `publicKeyDer` (SPKI), compared on the derived public key. */
export function keyMatches(privateKey: KeyObject, publicKeyDer: ArrayBuffer): boolean {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  return spki.equals(Buffer.from(publicKeyDer));
}

/** Reads a PKCS#8 PEM (what `createCa` hands out) back into a KeyObject. */
export function privateKeyFromPem(pem: string): KeyObject {
  return createPrivateKey(pem);
}
