import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Envelope encryption for every secret vaultgate keeps at rest: each secret gets its own random
 * AES-256-GCM data key, and that data key is wrapped (AES-256-GCM again) by the master key. Both
 * layers carry the record's identity as associated data (`certificate:<id>:private_key`), so a
 * ciphertext copied onto another row fails authentication instead of opening.
 *
 * Sealed form: `v1.` + base64url(wrapIv 12 | wrappedKey 32 | wrapTag 16 | iv 12 | tag 16 | ciphertext).
 */
const VERSION = 'v1.';
const IV = 12;
const TAG = 16;
const KEY = 32;
const HEADER = IV + KEY + TAG + IV + TAG;

export class SealError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SealError';
  }
}

export class Keyring {
  readonly #master: Buffer;

  constructor(masterKey: Buffer) {
    if (masterKey.length !== KEY) throw new TypeError('the master key must be exactly 32 bytes');
    this.#master = Buffer.from(masterKey);
  }

  seal(plaintext: Buffer | string, aad: string): string {
    const dataKey = randomBytes(KEY);
    const wrapIv = randomBytes(IV);
    const wrap = createCipheriv('aes-256-gcm', this.#master, wrapIv).setAAD(Buffer.from(`dek:${aad}`));
    const wrappedKey = Buffer.concat([wrap.update(dataKey), wrap.final()]);
    const wrapTag = wrap.getAuthTag();

    const iv = randomBytes(IV);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv).setAAD(Buffer.from(`data:${aad}`));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    const tag = cipher.getAuthTag();
    dataKey.fill(0);
    return VERSION + Buffer.concat([wrapIv, wrappedKey, wrapTag, iv, tag, body]).toString('base64url');
  }

  /** Opens a sealed secret; throws SealError if it was altered, moved to another record, or sealed under another key. */
  open(sealed: string, aad: string): Buffer {
    if (!sealed.startsWith(VERSION)) throw new SealError('unknown sealed format');
    const raw = Buffer.from(sealed.slice(VERSION.length), 'base64url');
    if (raw.length < HEADER) throw new SealError('sealed value is truncated');
    let offset = 0;
    const take = (n: number): Buffer => raw.subarray(offset, (offset += n));
    const wrapIv = take(IV);
    const wrappedKey = take(KEY);
    const wrapTag = take(TAG);
    const iv = take(IV);
    const tag = take(TAG);
    const body = raw.subarray(offset);
    try {
      const unwrap = createDecipheriv('aes-256-gcm', this.#master, wrapIv)
        .setAAD(Buffer.from(`dek:${aad}`))
        .setAuthTag(wrapTag);
      const dataKey = Buffer.concat([unwrap.update(wrappedKey), unwrap.final()]);
      const decipher = createDecipheriv('aes-256-gcm', dataKey, iv)
        .setAAD(Buffer.from(`data:${aad}`))
        .setAuthTag(tag);
      const plain = Buffer.concat([decipher.update(body), decipher.final()]);
      dataKey.fill(0);
      return plain;
    } catch {
      throw new SealError(
        'sealed value failed authentication (altered, moved to another record, or another master key)',
      );
    }
  }
}
