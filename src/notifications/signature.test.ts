import { describe, expect, it } from 'vitest';
import { signatureHeader, verifySignature } from './signature.js';

// A vector computed with OpenSSL, not with this module:
// printf '%s' "1767225600.$BODY" | openssl dgst -sha256 -hmac whsec_example
const SECRET = 'whsec_example';
const BODY =
  '{"id":"3b1f6c1e-6c55-4c36-9a53-4a8f0a4b2c1d","type":"certificate.expiring","at":"2026-01-01T00:00:00.000Z","data":{}}';
const T = 1767225600;
const HEADER = `t=${T},v1=e35039551744f74e5e18b88cb1c57bf269afac8a10b638a70e4d1291ecb8afb4`;

describe('webhook signatures', () => {
  it('sign t.body with HMAC-SHA-256 under the secret, as OpenSSL computes it', () => {
    expect(signatureHeader(SECRET, BODY, T)).toBe(HEADER);
    expect(signatureHeader(SECRET, BODY, T + 0.9)).toBe(HEADER);
  });

  it('verify within the tolerance only, and any v1 entry', () => {
    const at = T * 1000;
    expect(verifySignature(SECRET, HEADER, BODY, at)).toBe(true);
    expect(verifySignature(SECRET, HEADER, BODY, at + 300_000)).toBe(true);
    expect(verifySignature(SECRET, HEADER, BODY, at + 301_000)).toBe(false);
    expect(verifySignature(SECRET, HEADER, BODY, at - 301_000)).toBe(false);
    expect(verifySignature(SECRET, `t=${T},v1=${'0'.repeat(64)},${HEADER.split(',')[1]}`, BODY, at)).toBe(
      true,
    );
  });

  it('refuse another secret, another body, a missing or malformed header', () => {
    const at = T * 1000;
    expect(verifySignature('whsec_other', HEADER, BODY, at)).toBe(false);
    expect(verifySignature(SECRET, HEADER, BODY.replace('expiring', 'expired'), at)).toBe(false);
    expect(verifySignature(SECRET, HEADER.replace(`t=${T}`, `t=${T + 1}`), BODY, at)).toBe(false);
    for (const header of [undefined, '', 'v1=abc', `t=${T}`, `t=soon,${HEADER.split(',')[1]}`]) {
      expect(verifySignature(SECRET, header, BODY, at), String(header)).toBe(false);
    }
  });
});
