import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Keyring, SealError } from './keyring.js';

describe('Keyring', () => {
  const keyring = new Keyring(randomBytes(32));

  it('round-trips a secret and never stores it in clear', () => {
    const secret = '-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY-----\n';
    const sealed = keyring.seal(secret, 'certificate:a:private_key');
    expect(sealed).not.toContain('PRIVATE KEY');
    expect(Buffer.from(sealed.slice(3), 'base64url').includes(Buffer.from('MIIEvQIBADANBg'))).toBe(false);
    expect(keyring.open(sealed, 'certificate:a:private_key').toString()).toBe(secret);
  });

  it('seals the same secret differently each time', () => {
    expect(keyring.seal('x', 'a')).not.toBe(keyring.seal('x', 'a'));
  });

  it('refuses a flipped byte anywhere', () => {
    const sealed = keyring.seal('the secret', 'r:1');
    const raw = Buffer.from(sealed.slice(3), 'base64url');
    for (let i = 0; i < raw.length; i++) {
      const copy = Buffer.from(raw);
      copy[i] = (copy[i] ?? 0) ^ 0x01;
      expect(() => keyring.open('v1.' + copy.toString('base64url'), 'r:1')).toThrow(SealError);
    }
  });

  it('refuses a ciphertext copied onto another record', () => {
    const sealed = keyring.seal('key of record 1', 'certificate:1:private_key');
    expect(() => keyring.open(sealed, 'certificate:2:private_key')).toThrow(SealError);
  });

  it('refuses another master key, a truncated value and an unknown format', () => {
    const sealed = keyring.seal('x', 'a');
    expect(() => new Keyring(randomBytes(32)).open(sealed, 'a')).toThrow(SealError);
    expect(() => keyring.open(sealed.slice(0, 20), 'a')).toThrow(SealError);
    expect(() => keyring.open('v9.abc', 'a')).toThrow(SealError);
    expect(() => new Keyring(randomBytes(16))).toThrow(TypeError);
  });
});
