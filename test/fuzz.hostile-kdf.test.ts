/**
 * Upload fuzzing for issue 11 (the library, in-process: fast and deterministic): hostile
 * key-derivation parameters, huge whitespace runs and many-certificate bundles are each answered
 * with a VaultgateError (naming the limit where one applies) or accepted — never an unexpected
 * error, and never a derivation above the bounds of src/certificates/kdf.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readCaBundle } from '../src/certificates/ca-bundle.js';
import {
  MAX_ITERATIONS,
  MAX_JS_ITERATIONS,
  MAX_SCRYPT_MEMORY,
  MAX_SCRYPT_WORK,
} from '../src/certificates/kdf.js';
import { parseUpload, type UploadInput } from '../src/certificates/upload.js';
import { VaultgateError } from '../src/errors.js';
import { armour, patchInteger, pemBody } from './helpers/hostile-uploads.js';
import { makeLeaf, makePkcs12, openssl } from './helpers/pki-fixtures.js';

const leaf = makeLeaf({ cn: 'fuzz-kdf.example' });

function outcome(input: UploadInput): VaultgateError | 'accepted' {
  try {
    parseUpload(input);
    return 'accepted';
  } catch (err) {
    if (err instanceof VaultgateError) return err;
    throw err;
  }
}

describe('hostile key-derivation parameters', () => {
  const scrypt = pemBody(
    openssl(['pkcs8', '-topk8', '-scrypt', '-passout', 'pass:right'], leaf.keyPem).toString(),
  );
  const pbkdf2 = pemBody(
    openssl(
      ['pkcs8', '-topk8', '-v2', 'aes-256-cbc', '-iter', '2048', '-passout', 'pass:right'],
      leaf.keyPem,
    ).toString(),
  );

  it('refuses scrypt N·r·p or memory over the bound, naming it, before deriving anything', () => {
    // Mostly over the bound; the few under it are cheap (small N) so the run stays short.
    const params = fc.record({
      logN: fc.integer({ min: 1, max: 30 }), // forge encodes INTEGERs up to 2^31 - 1
      r: fc.integer({ min: 1, max: 1 << 16 }),
      p: fc.integer({ min: 1, max: 1 << 16 }),
    });
    fc.assert(
      fc.property(params, ({ logN, r, p }) => {
        const n = 2 ** logN;
        const work = n * r * p;
        const memory = 128 * r * (n + 2 + p);
        fc.pre(work > MAX_SCRYPT_WORK || memory > MAX_SCRYPT_MEMORY || work <= 1 << 14);
        // scrypt params: [salt, N, r, p] under EncryptedPrivateKeyInfo → alg → PBES2 → KDF.
        let der = patchInteger(scrypt, [0, 1, 0, 1, 1], n);
        der = patchInteger(der, [0, 1, 0, 1, 2], r);
        der = patchInteger(der, [0, 1, 0, 1, 3], p);
        const started = performance.now();
        const result = outcome({
          certificate: leaf.certPem,
          private_key: armour('ENCRYPTED PRIVATE KEY', der),
          passphrase: 'wrong',
        });
        expect(result).not.toBe('accepted');
        const err = result as VaultgateError;
        if (work > MAX_SCRYPT_WORK || memory > MAX_SCRYPT_MEMORY) {
          expect(err.code).toBe('invalid_private_key');
          expect(err.message).toMatch(
            work > MAX_SCRYPT_WORK ? /N·r·p = \d+, above the 1048576/ : /MiB accepted/,
          );
          expect(performance.now() - started).toBeLessThan(3_000);
        } else {
          expect(['bad_passphrase', 'invalid_private_key']).toContain(err.code);
        }
      }),
      { numRuns: 150, seed: 1101 },
    );
  });

  it('refuses PBKDF2 iteration counts over the cap, naming it', () => {
    const count = fc.oneof(
      fc.integer({ min: 1, max: 4_000 }),
      fc.integer({ min: MAX_ITERATIONS + 1, max: 0x7fffffff }),
    );
    fc.assert(
      fc.property(count, (iterations) => {
        const der = patchInteger(pbkdf2, [0, 1, 0, 1, 1], iterations);
        const err = outcome({
          certificate: leaf.certPem,
          private_key: armour('ENCRYPTED PRIVATE KEY', der),
          passphrase: 'wrong',
        }) as VaultgateError;
        if (iterations > MAX_ITERATIONS) {
          expect(err.code).toBe('invalid_private_key');
          expect(err.message).toContain(`above the ${MAX_ITERATIONS} accepted`);
        } else expect(err.code).toBe('bad_passphrase');
      }),
      { numRuns: 60, seed: 1102 },
    );
  });

  it('refuses PKCS#12 MAC iteration counts over the cap, naming it', () => {
    const p12 = Buffer.from(makePkcs12(leaf, { passphrase: 'pw' }), 'base64');
    fc.assert(
      fc.property(fc.integer({ min: MAX_JS_ITERATIONS + 1, max: 0x7fffffff }), (iterations) => {
        const err = outcome({
          pkcs12: patchInteger(p12, [2, 2], iterations).toString('base64'),
          passphrase: 'pw',
        }) as VaultgateError;
        expect(err.code).toBe('invalid_pkcs12');
        expect(err.message).toContain(`above the ${MAX_JS_ITERATIONS} accepted`);
      }),
      { numRuns: 30, seed: 1103 },
    );
  });
});

describe('huge whitespace runs', () => {
  it('reads PEM with runs of up to 200 KB of blanks in linear time', () => {
    const text = leaf.certPem + leaf.keyPem;
    const lines = text.split('\n');
    const run = fc.record({
      line: fc.nat({ max: lines.length - 1 }),
      length: fc.integer({ min: 10_000, max: 200_000 }),
      blank: fc.constantFrom(' ', '\t', ' \t'),
      where: fc.constantFrom('before', 'after', 'alone', 'between'),
    });
    fc.assert(
      fc.property(run, ({ line, length, blank, where }) => {
        const pad = blank.repeat(Math.ceil(length / blank.length));
        const copy = [...lines];
        const original = copy[line] as string;
        copy[line] =
          where === 'before'
            ? pad + original
            : where === 'after'
              ? original + pad
              : where === 'alone'
                ? `${original}\n${pad}`
                : `${original}\nx${pad}x`; // the case the old trim took 20 s on
        const started = performance.now();
        const result = outcome({ certificate: copy.join('\n') });
        // The quadratic trim took 6 s for 80 KB; linear code takes a few ms for 200 KB.
        expect(performance.now() - started).toBeLessThan(3_000);
        if (result !== 'accepted') expect(result.code).toMatch(/^invalid_(certificate|private_key)$/);
      }),
      { numRuns: 40, seed: 1104 },
    );
  });
});

describe('many-certificate bundles', () => {
  it('refuses uploads of more than 10 certificates and ca_pem of more than 200, quickly', () => {
    fc.assert(
      fc.property(fc.integer({ min: 11, max: 180 }), (copies) => {
        const started = performance.now();
        const err = outcome({ certificate: leaf.certPem.repeat(copies) + leaf.keyPem }) as VaultgateError;
        expect(err.code).toBe('invalid_field');
        expect(err.message).toContain('at most 10');
        expect(performance.now() - started).toBeLessThan(3_000);
      }),
      { numRuns: 20, seed: 1105 },
    );
    expect(readCaBundle(leaf.certPem.repeat(200))).toContain('BEGIN CERTIFICATE');
    expect(() => readCaBundle(leaf.certPem.repeat(201))).toThrow(/201 blocks, above the 200 accepted/);
    for (const markers of [
      '-----BEGIN CERTIFICATE-----\n',
      '-----BEGIN CERTIFICATE-----',
      '-----END CERTIFICATE-----\n',
    ]) {
      const started = performance.now();
      expect(() => readCaBundle(markers.repeat(9_000))).toThrow(VaultgateError);
      expect(performance.now() - started).toBeLessThan(3_000);
    }
  });
});
