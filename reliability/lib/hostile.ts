/**
 * Hostile uploads (issue 11): inputs that look valid and cost vaultgate seconds of CPU, built by hand
 * so that the harness itself never pays that cost (an scrypt key with p=100 is only ever derived by
 * the process under test, which must find out that the passphrase is wrong).
 */
import { randomBytes } from 'node:crypto';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from([tag]), len(body.length), body]);
const seq = (...items: Buffer[]): Buffer => tlv(0x30, Buffer.concat(items));
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const nul = (): Buffer => Buffer.from([0x05, 0x00]);
function int(n: number): Buffer {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  if (bytes.length === 0 || (bytes[0] as number) >= 0x80) bytes.unshift(0);
  return tlv(0x02, Buffer.from(bytes));
}
function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out: number[] = [40 * (parts[0] as number) + (parts[1] as number)];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

const PBES2 = '1.2.840.113549.1.5.13';
const PBKDF2 = '1.2.840.113549.1.5.12';
const SCRYPT = '1.3.6.1.4.1.11591.4.11';
const HMAC_SHA256 = '1.2.840.113549.2.9';
const AES_256_CBC = '2.16.840.1.101.3.4.1.42';

function encryptedPkcs8(kdf: Buffer): string {
  const der = seq(
    seq(oid(PBES2), seq(kdf, seq(oid(AES_256_CBC), octets(randomBytes(16))))),
    // Random bytes: whatever the passphrase, decryption fails — but only after the key derivation.
    octets(randomBytes(160)),
  );
  const b64 = der.toString('base64').replace(/.{64}/g, '$&\n');
  return `-----BEGIN ENCRYPTED PRIVATE KEY-----\n${b64}\n-----END ENCRYPTED PRIVATE KEY-----\n`;
}

/** PBES2 with scrypt: N bounded by vaultgate, but p (sequential work) was not (10.8 s at p=100). */
export function scryptKey(n = 1 << 14, r = 8, p = 100): string {
  return encryptedPkcs8(seq(oid(SCRYPT), seq(octets(randomBytes(16)), int(n), int(r), int(p), int(32))));
}

/** PBES2 with PBKDF2-HMAC-SHA256 at `iterations` (vaultgate's cap is 1,000,000). */
export function pbkdf2Key(iterations = 1_000_000): string {
  return encryptedPkcs8(
    seq(oid(PBKDF2), seq(octets(randomBytes(16)), int(iterations), int(32), seq(oid(HMAC_SHA256), nul()))),
  );
}

/** A certificate PEM with a line of `n` spaces (then one letter) after its BEGIN line. */
export function spacedPem(certPem: string, n = 80_000): string {
  const [first, ...rest] = certPem.split('\n');
  return [first, ' '.repeat(n) + 'A', ...rest].join('\n');
}

/** A ca_pem of `count` BEGIN markers and nothing else (under the 1 MiB body limit). */
export function manyBeginMarkers(count = 30_000): string {
  return '-----BEGIN CERTIFICATE-----\n'.repeat(count);
}

/** host_endpoint regexes that backtrack catastrophically on near-miss hosts. */
export const CATASTROPHIC_REGEXES = ['(a+)+$', '(.*a){20}'];
