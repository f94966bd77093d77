import { describe, expect, it } from 'vitest';
import { VaultgateError } from '../errors.js';
import { chainPem, makeCa, makeLeaf, makePkcs12 } from '../../test/helpers/pki-fixtures.js';
import { checkTlsMaterial, createTlsContext, describeTlsRefusal } from './tls-context.js';
import { parseUpload, type UploadInput } from './upload.js';

function rejection(input: UploadInput): VaultgateError {
  try {
    parseUpload(input);
  } catch (err) {
    expect(err).toBeInstanceOf(VaultgateError);
    return err as VaultgateError;
  }
  throw new Error('expected the upload to be rejected');
}

const root = makeCa({ cn: 'TLS Context Root' });
const intermediate = makeCa({ cn: 'TLS Context Intermediate', issuer: root });

describe('checkTlsMaterial: what OpenSSL refuses when the proxies build the context', () => {
  it('accepts a normal chain and key, and builds a context with a trust list too', () => {
    const leaf = makeLeaf({ issuer: intermediate, cn: 'ok.tls-context.example' });
    expect(checkTlsMaterial({ chainPem: chainPem(leaf), keyPem: leaf.keyPem })).toBeNull();
    expect(createTlsContext({ chainPem: chainPem(leaf), keyPem: leaf.keyPem }, [root.certPem])).toBeDefined();
    expect(createTlsContext(null)).toBeDefined();
  });

  it('names a SHA-1 intermediate (ca md too weak) as weak_signature', () => {
    const weak = makeCa({ cn: 'TLS Context SHA-1 CA', issuer: root, digest: 'sha1' });
    const leaf = makeLeaf({ issuer: weak, cn: 'sha1.tls-context.example' });
    expect(checkTlsMaterial({ chainPem: chainPem(leaf), keyPem: leaf.keyPem })?.code).toBe('weak_signature');
  });

  it('names a key that is not the certificate’s (key values mismatch) as key_mismatch', () => {
    const leaf = makeLeaf({ cn: 'a.tls-context.example' });
    const other = makeLeaf({ cn: 'b.tls-context.example' });
    const refusal = checkTlsMaterial({ chainPem: leaf.certPem, keyPem: other.keyPem });
    expect(refusal?.code).toBe('key_mismatch');
    expect(refusal?.message).not.toContain('PRIVATE KEY');
  });

  it('names a CA key below the security level as unusable_certificate', () => {
    const weakCa = makeCa({ cn: 'TLS Context 512 CA', keyType: 'rsa512' });
    const leaf = makeLeaf({ issuer: weakCa, cn: 'small-ca.tls-context.example' });
    const refusal = checkTlsMaterial({ chainPem: chainPem(leaf), keyPem: leaf.keyPem });
    expect(refusal?.code).toBe('unusable_certificate');
    expect(refusal?.message).toMatch(/CA certificate .* key that is too small/);
  });

  it('keeps OpenSSL’s reason for anything it has no words for', () => {
    const refusal = describeTlsRefusal(Object.assign(new Error('x'), { reason: 'something new' }));
    expect(refusal).toMatchObject({ code: 'unusable_certificate' });
    expect(refusal.message).toContain('something new');
  });
});

describe('parseUpload: accepted only if the TLS context can be built', () => {
  it('refuses a leaf signed with SHA-1 as weak_signature, naming the digest', () => {
    const leaf = makeLeaf({ issuer: intermediate, cn: 'sha1-leaf.tls-context.example', digest: 'sha1' });
    const err = rejection({ certificate: chainPem(leaf), private_key: leaf.keyPem });
    expect([err.code, err.field]).toEqual(['weak_signature', 'certificate']);
    expect(err.message).toMatch(/^The certificate is signed with SHA-1/);
  });

  it('refuses a self-signed SHA-1 leaf too (SPEC names the leaf), but not a SHA-1 root at the top', () => {
    const self = makeLeaf({ cn: 'sha1-self.tls-context.example', digest: 'sha1' });
    expect(rejection({ certificate: self.certPem, private_key: self.keyPem }).code).toBe('weak_signature');
    const oldRoot = makeCa({ cn: 'TLS Context SHA-1 Root', digest: 'sha1' });
    const leaf = makeLeaf({ issuer: oldRoot, cn: 'under-old-root.tls-context.example' });
    const parsed = parseUpload({ certificate: chainPem(leaf), private_key: leaf.keyPem });
    expect(parsed.metadata.chain.map((c) => c.subject)).toEqual([
      'CN=TLS Context SHA-1 Root, O=Vaultgate Tests',
    ]);
  });

  it('refuses a SHA-1 intermediate as weak_signature, naming it', () => {
    const weak = makeCa({ cn: 'TLS Context Old Intermediate', issuer: root, digest: 'sha1' });
    const leaf = makeLeaf({ issuer: weak, cn: 'under-old.tls-context.example' });
    const err = rejection({ certificate: chainPem(leaf), private_key: leaf.keyPem });
    expect(err.code).toBe('weak_signature');
    expect(err.message).toContain(
      '"CN=TLS Context Old Intermediate, O=Vaultgate Tests" is signed with SHA-1',
    );
  });

  it('reads a PKCS#12 that carries certificates outside the chain, dropping them with a warning', () => {
    const leaf = makeLeaf({ issuer: intermediate, cn: 'p12-extra.tls-context.example' });
    const strangers = [makeCa({ cn: 'Stranger CA 1' }).certPem, makeCa({ cn: 'Stranger CA 2' }).certPem];
    const p12 = makePkcs12(leaf, { extraCertsPem: [intermediate.certPem, ...strangers, root.certPem] });
    const parsed = parseUpload({ pkcs12: p12 });
    expect(parsed.chainPem).toBe(chainPem(leaf));
    expect(parsed.warnings).toEqual(['extra_certificates_dropped']);
    // What a worker thread hands back must survive structured cloning unchanged.
    expect(structuredClone(parsed)).toEqual(parsed);
  });
});
