import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';

/**
 * Access credentials (SPEC §2): the password is a random UUID shown once; only its HMAC-SHA-256
 * under the server secret is stored. A 122-bit random secret needs no slow hash, and a slow hash on
 * every proxy connection would cap throughput.
 */
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';

export function randomFrom(alphabet: string, length: number): string {
  // Rejection sampling keeps every character equally likely (256 is not a multiple of 58 or 36).
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < limit && out.length < length) out += alphabet[byte % alphabet.length];
    }
  }
  return out;
}

export function newUsername(): string {
  return 'US' + randomFrom(BASE58, 22);
}

export function newPassword(): string {
  return randomUUID();
}

export class CredentialHasher {
  readonly #secret: Buffer;

  constructor(serverSecret: Buffer) {
    this.#secret = Buffer.from(serverSecret);
  }

  hash(password: string): Buffer {
    return createHmac('sha256', this.#secret).update(password, 'utf8').digest();
  }

  /** Constant-time: the time taken does not depend on how much of the password was right. */
  verify(password: string, expected: Buffer): boolean {
    const actual = this.hash(password);
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  }
}

/** Compares two tokens in constant time (for the admin token). */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHmac('sha256', 'vaultgate-compare').update(a).digest();
  const hb = createHmac('sha256', 'vaultgate-compare').update(b).digest();
  return timingSafeEqual(ha, hb);
}
