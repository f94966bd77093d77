import { describe, expect, it } from 'vitest';
import { isVaultgateError } from '../errors.js';
import { NON_OBJECT_INPUTS, malformedUploads } from '../../test/helpers/malformed-uploads.js';
import { parseUpload, type UploadInput } from './upload.js';

/** Each upload must be refused quickly; the slowest legitimate one (RSA, PKCS#12) takes ~50 ms. */
const MAX_MS = 2_000;

function outcome(input: unknown): { status: number; code: string; message: string; ms: number } {
  const started = performance.now();
  try {
    parseUpload(input as UploadInput);
  } catch (err) {
    if (!isVaultgateError(err)) throw err;
    return { status: err.status, code: err.code, message: err.message, ms: performance.now() - started };
  }
  throw new Error('accepted');
}

describe('malformed uploads', () => {
  const corpus = malformedUploads();

  it('has at least 200 entries', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
  });

  it.each(corpus.map((c) => [c.name, c.input, c.code] as const))('refuses %s', (_name, input, code) => {
    const result = outcome(input);
    if (code !== undefined) expect(result.code).toBe(code);
    expect(result.status).toBeGreaterThanOrEqual(400);
    expect(result.status).toBeLessThan(500);
    expect(result.ms).toBeLessThan(MAX_MS);
    // Messages are for users: never the passphrase, never key material.
    if (typeof input.passphrase === 'string' && input.passphrase.length > 0) {
      expect(result.message).not.toContain(input.passphrase);
    }
    expect(result.message).not.toMatch(/[A-Za-z0-9+/]{40}/);
  });

  it.each(NON_OBJECT_INPUTS.map((v) => [String(v), v] as const))(
    'refuses a non-object input (%s)',
    (_n, input) => {
      expect(outcome(input).code).toBe('invalid_field');
    },
  );
});
