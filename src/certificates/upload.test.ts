import { describe, expect, it } from 'vitest';
import { VaultgateError } from '../errors.js';
import {
  chainPem,
  convertKey,
  makeCa,
  makeKey,
  makeLeaf,
  makePkcs12,
  toCrlf,
  type KeyKind,
} from '../../test/helpers/pki-fixtures.js';
import { parseUpload, type UploadInput } from './upload.js';

const DAY = 86_400_000;

function rejection(input: UploadInput, now?: Date): VaultgateError {
  try {
    parseUpload(input, now);
  } catch (err) {
    expect(err).toBeInstanceOf(VaultgateError);
    return err as VaultgateError;
  }
  throw new Error('expected the upload to be rejected');
}

describe('parseUpload: key types', () => {
  const cases: [KeyKind, string, number | null, string | null][] = [
    ['rsa2048', 'rsa', 2048, null],
    ['p256', 'ec', null, 'P-256'],
    ['p384', 'ec', null, 'P-384'],
    ['p521', 'ec', null, 'P-521'],
    ['ed25519', 'ed25519', null, 'Ed25519'],
  ];
  it.each(cases)('accepts %s', (keyType, type, size, curve) => {
    const leaf = makeLeaf({ keyType, cn: `kt-${keyType}.example` });
    const parsed = parseUpload({ certificate: leaf.certPem, private_key: leaf.keyPem });
    expect(parsed.metadata).toMatchObject({ key_type: type, key_size: size, curve });
    expect(parsed.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
  });

  it('rejects RSA 1024 as weak_key', () => {
    const leaf = makeLeaf({ keyType: 'rsa1024' });
    const err = rejection({ certificate: leaf.certPem, private_key: leaf.keyPem });
    expect([err.code, err.field]).toEqual(['weak_key', 'private_key']);
    expect(err.message).toContain('2048');
  });

  it('rejects secp256k1 with a message naming the supported curves', () => {
    const leaf = makeLeaf({ keyType: 'secp256k1' });
    const err = rejection({ certificate: leaf.certPem, private_key: leaf.keyPem });
    expect(err.code).toBe('invalid_private_key');
    expect(err.message).toMatch(/secp256k1.*P-256/);
  });
});

describe('parseUpload: key encodings', () => {
  const rsa = makeLeaf({ keyType: 'rsa2048', cn: 'enc-rsa.example' });
  const ec = makeLeaf({ keyType: 'p256', cn: 'enc-ec.example' });

  it.each([
    ['PKCS#1', rsa, 'traditional', 'BEGIN RSA PRIVATE KEY'],
    ['SEC1', ec, 'traditional', 'BEGIN EC PRIVATE KEY'],
    ['PKCS#8', rsa, 'pkcs8', 'BEGIN PRIVATE KEY'],
  ] as const)('reads %s', (_name, leaf, format, marker) => {
    const key = convertKey(leaf.keyPem, format);
    expect(key).toContain(marker);
    expect(parseUpload({ certificate: leaf.certPem, private_key: key }).privateKeyPem).toBe(leaf.keyPem);
  });

  it.each([
    ['encrypted PKCS#8 (RSA)', rsa, 'encrypted-pkcs8'],
    ['encrypted PKCS#8 (EC)', ec, 'encrypted-pkcs8'],
    ['legacy Proc-Type encrypted PKCS#1', rsa, 'legacy-encrypted'],
    ['legacy Proc-Type encrypted SEC1', ec, 'legacy-encrypted'],
  ] as const)('reads %s with its passphrase, and names the problem without it', (_name, leaf, format) => {
    const key = convertKey(leaf.keyPem, format, 'pässwörd 1');
    const ok = parseUpload({ certificate: leaf.certPem, private_key: key, passphrase: 'pässwörd 1' });
    expect(ok.privateKeyPem).toBe(leaf.keyPem);
    const missing = rejection({ certificate: leaf.certPem, private_key: key });
    expect([missing.code, missing.field]).toEqual(['passphrase_required', 'passphrase']);
    const wrong = rejection({ certificate: leaf.certPem, private_key: key, passphrase: 'hunter2' });
    expect([wrong.code, wrong.field]).toEqual(['bad_passphrase', 'passphrase']);
    expect(wrong.message).not.toContain('hunter2');
  });
});

describe('parseUpload: chains', () => {
  const root = makeCa({ cn: 'Chain Root', org: 'Acme' });
  const intermediate = makeCa({ cn: 'Chain Intermediate', org: 'Acme', issuer: root });
  const leaf = makeLeaf({
    issuer: intermediate,
    cn: 'client.example',
    org: 'Acme',
    sans: ['DNS:client.example', 'IP:127.0.0.1', 'IP:2001:db8::1', 'email:ops@client.example'],
  });

  it('orders certificates given in any order leaf → intermediate → root', () => {
    const shuffled = [root.certPem, leaf.certPem, intermediate.certPem].join('\n\n');
    const parsed = parseUpload({ certificate: shuffled, private_key: leaf.keyPem });
    expect(parsed.chainPem).toBe(chainPem(leaf));
    expect(parsed.warnings).toEqual([]);
    expect(parsed.metadata.subject).toBe('CN=client.example, O=Acme');
    expect(parsed.metadata.issuer).toBe('CN=Chain Intermediate, O=Acme');
    expect(parsed.metadata.chain.map((c) => c.subject)).toEqual([
      'CN=Chain Intermediate, O=Acme',
      'CN=Chain Root, O=Acme',
    ]);
    expect(parsed.metadata.sans).toEqual([
      'DNS:client.example',
      'IP:127.0.0.1',
      'IP:2001:db8::1',
      'email:ops@client.example',
    ]);
  });

  it('produces metadata in the documented formats', () => {
    const parsed = parseUpload({ certificate: leaf.certPem, private_key: leaf.keyPem });
    const { metadata } = parsed;
    expect(metadata.fingerprint_sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(metadata.serial_number).toMatch(/^[0-9A-F]+$/);
    expect(metadata.not_before).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    expect(parsed.warnings).toEqual(['incomplete_chain']);
  });

  it('accepts leaf + intermediate without the root, with no warning', () => {
    const parsed = parseUpload({
      certificate: leaf.certPem + intermediate.certPem,
      private_key: leaf.keyPem,
    });
    expect(parsed.warnings).toEqual([]);
    expect(parsed.metadata.chain).toHaveLength(1);
  });

  it('accepts one CRLF bundle holding key and certificates, with surrounding whitespace', () => {
    const bundle = toCrlf(`\n\n  ${intermediate.certPem}${leaf.keyPem}${leaf.certPem}  \n\n`);
    const parsed = parseUpload({ certificate: bundle });
    expect(parsed.chainPem).toBe(leaf.certPem + intermediate.certPem);
    expect(parsed.privateKeyPem).toBe(leaf.keyPem);
  });

  it('drops a certificate that is not part of the leaf chain, with extra_certificates_dropped', () => {
    const other = makeCa({ cn: 'Unrelated CA' });
    const parsed = parseUpload({
      certificate: other.certPem + leaf.certPem + intermediate.certPem,
      private_key: leaf.keyPem,
    });
    expect(parsed.chainPem).toBe(leaf.certPem + intermediate.certPem);
    expect(parsed.warnings).toEqual(['extra_certificates_dropped']);
    expect(parsed.metadata.chain.map((c) => c.subject)).toEqual(['CN=Chain Intermediate, O=Acme']);
  });

  it('stores leaf + root with the intermediate missing, with incomplete_chain', () => {
    const parsed = parseUpload({ certificate: leaf.certPem + root.certPem, private_key: leaf.keyPem });
    // Nothing proves the root belongs to this chain without the intermediate: it is not stored.
    expect(parsed.chainPem).toBe(leaf.certPem);
    expect(parsed.warnings).toEqual(['incomplete_chain', 'extra_certificates_dropped']);
  });

  it('still refuses an intermediate whose signature does not verify against the uploaded root', () => {
    // Changing one byte of the intermediate's subject unlinks it from the leaf; without the check
    // it would be dropped quietly instead of reported as damaged.
    const der = Buffer.from(intermediate.certPem.split('\n').slice(1, -2).join(''), 'base64');
    const name = Buffer.from('Chain Intermediate');
    const at = der.lastIndexOf(name);
    der[at] = 'X'.charCodeAt(0);
    const pem = `-----BEGIN CERTIFICATE-----\n${(der.toString('base64').match(/.{1,64}/g) ?? []).join('\n')}\n-----END CERTIFICATE-----\n`;
    const err = rejection({ certificate: leaf.certPem + pem + root.certPem, private_key: leaf.keyPem });
    expect([err.code, err.field]).toEqual(['invalid_certificate', 'certificate']);
    expect(err.message).toContain('does not verify');
  });

  it('rejects a key for another certificate as key_mismatch', () => {
    const other = makeLeaf({ cn: 'other.example' });
    const err = rejection({ certificate: leaf.certPem, private_key: other.keyPem });
    expect([err.code, err.field]).toEqual(['key_mismatch', 'private_key']);
    expect(err.message).toMatch(/does not belong to this certificate/);
  });
});

describe('parseUpload: validity and warnings', () => {
  const now = Date.now();

  it('rejects an expired certificate', () => {
    const leaf = makeLeaf({ notBefore: new Date(now - 60 * DAY), notAfter: new Date(now - DAY) });
    const err = rejection({ certificate: leaf.certPem, private_key: leaf.keyPem });
    expect([err.code, err.field]).toEqual(['certificate_expired', 'certificate']);
  });

  it('warns about a not-yet-valid certificate and one expiring within 30 days', () => {
    const future = makeLeaf({ notBefore: new Date(now + 2 * DAY), notAfter: new Date(now + 400 * DAY) });
    expect(parseUpload({ certificate: future.certPem, private_key: future.keyPem }).warnings).toContain(
      'not_yet_valid',
    );
    const soon = makeLeaf({ notBefore: new Date(now - DAY), notAfter: new Date(now + 10 * DAY) });
    expect(parseUpload({ certificate: soon.certPem, private_key: soon.keyPem }).warnings).toContain(
      'expires_soon',
    );
  });

  it('uses the given clock', () => {
    const leaf = makeLeaf({ days: 100 });
    const later = new Date(now + 200 * DAY);
    expect(rejection({ certificate: leaf.certPem, private_key: leaf.keyPem }, later).code).toBe(
      'certificate_expired',
    );
  });

  it('warns about EKU without clientAuth, and not about a missing EKU', () => {
    const serverOnly = makeLeaf({ eku: ['serverAuth'] });
    expect(
      parseUpload({ certificate: serverOnly.certPem, private_key: serverOnly.keyPem }).warnings,
    ).toContain('missing_client_auth_usage');
    const none = makeLeaf({ eku: null });
    expect(parseUpload({ certificate: none.certPem, private_key: none.keyPem }).warnings).not.toContain(
      'missing_client_auth_usage',
    );
  });

  it('warns about a CA:TRUE leaf', () => {
    const ca = makeLeaf({ ca: true });
    expect(parseUpload({ certificate: ca.certPem, private_key: ca.keyPem }).warnings).toEqual([
      'ca_certificate',
    ]);
  });
});

describe('parseUpload: PKCS#12', () => {
  const root = makeCa({ cn: 'P12 Root' });
  const leaf = makeLeaf({ issuer: root, cn: 'p12.example', keyType: 'rsa2048' });
  const ecLeaf = makeLeaf({ issuer: root, cn: 'p12-ec.example', keyType: 'p384' });

  it.each(['modern', 'legacy', '3des', 'none'] as const)(
    'reads %s encryption with a passphrase',
    (encryption) => {
      const passphrase = encryption === 'none' ? '' : 's3cret';
      const p12 = makePkcs12(leaf, { encryption, passphrase });
      const parsed = parseUpload({ pkcs12: p12, passphrase });
      expect(parsed.chainPem).toBe(chainPem(leaf));
      expect(parsed.privateKeyPem).toBe(leaf.keyPem);
    },
  );

  it.each(['modern', 'legacy'] as const)('reads %s with an EC key and an empty passphrase', (encryption) => {
    const p12 = makePkcs12(ecLeaf, { encryption });
    expect(parseUpload({ pkcs12: p12 }).metadata.curve).toBe('P-384');
  });

  it.each(['modern', 'legacy'] as const)('names a missing or wrong passphrase (%s)', (encryption) => {
    const p12 = makePkcs12(leaf, { encryption, passphrase: 'right' });
    expect(rejection({ pkcs12: p12 }).code).toBe('passphrase_required');
    expect(rejection({ pkcs12: p12, passphrase: 'wrong' }).code).toBe('bad_passphrase');
  });

  it('reads a non-ASCII passphrase (PBES2 takes UTF-8, the MAC takes BMPString)', () => {
    const p12 = makePkcs12(leaf, { passphrase: 'Grüße €' });
    expect(parseUpload({ pkcs12: p12, passphrase: 'Grüße €' }).metadata.key_size).toBe(2048);
  });

  it('rejects a PKCS#12 without a key, and pkcs12 together with PEM', () => {
    const p12 = makePkcs12(leaf, { noKey: true, passphrase: 'x' });
    expect(rejection({ pkcs12: p12, passphrase: 'x' }).code).toBe('invalid_pkcs12');
    const both = rejection({ pkcs12: p12, certificate: leaf.certPem });
    expect(both.code).toBe('invalid_field');
  });
});

describe('parseUpload: field checks', () => {
  it('rejects an upload with nothing in it', () => {
    expect(rejection({}).code).toBe('invalid_field');
  });
  it('rejects a field of the wrong type', () => {
    const err = rejection({ certificate: 42 } as unknown as UploadInput);
    expect([err.code, err.field]).toEqual(['invalid_field', 'certificate']);
  });
  it('rejects a field over 256 KiB', () => {
    const err = rejection({ certificate: 'A'.repeat(256 * 1024 + 1), private_key: makeKey() });
    expect([err.code, err.field]).toEqual(['invalid_field', 'certificate']);
  });
});
