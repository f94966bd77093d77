import { X509Certificate, createPrivateKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { x509 } from './crypto.js';
import { createCa, issueListenerCertificate, MAX_LISTENER_DAYS } from './ca.js';

const DAY_MS = 86_400_000;

function splitPem(chain: string): string[] {
  return chain.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

describe('createCa', () => {
  it('makes a self-signed P-256 CA restricted to signing certificates', async () => {
    const before = Date.now();
    const { certPem, keyPem } = await createCa({ commonName: 'vaultgate outbound CA tntabcdefgh' });
    const ca = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);

    expect(keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/); // PKCS#8, not SEC1
    expect(key.asymmetricKeyType).toBe('ec');
    expect(key.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(ca.checkPrivateKey(key)).toBe(true);
    expect(ca.ca).toBe(true);
    expect(ca.subject).toContain('CN=vaultgate outbound CA tntabcdefgh');
    expect(ca.checkIssued(ca)).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);

    const text = ca.toLegacyObject();
    expect(text.serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/); // 16 bytes, positive, minimal
    const notBefore = Date.parse(ca.validFrom);
    expect(notBefore).toBeLessThanOrEqual(before - 3_599_000); // backdated an hour
    expect(Date.parse(ca.validTo) - notBefore).toBe(3650 * DAY_MS);

    // Node's X509Certificate does not expose keyUsage or criticality; read the extensions directly.
    const parsed = new x509.X509Certificate(certPem);
    const bc = parsed.getExtension(x509.BasicConstraintsExtension);
    expect([bc?.ca, bc?.pathLength, bc?.critical]).toEqual([true, 0, true]);
    const ku = parsed.getExtension(x509.KeyUsagesExtension);
    expect(ku?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    expect(ku?.critical).toBe(true);
    expect(parsed.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
  });

  it('gives every CA its own key and serial', async () => {
    const [a, b] = await Promise.all([createCa({ commonName: 'a' }), createCa({ commonName: 'b' })]);
    expect(a.keyPem).not.toBe(b.keyPem);
    expect(new X509Certificate(a.certPem).serialNumber).not.toBe(new X509Certificate(b.certPem).serialNumber);
  });

  it('rejects a name that cannot be a CN', async () => {
    await expect(createCa({ commonName: ' ' })).rejects.toThrow(TypeError);
    await expect(createCa({ commonName: 'x'.repeat(65) })).rejects.toThrow(/64/);
  });
});

describe('issueListenerCertificate', () => {
  it('verifies for localhost, 127.0.0.1 and a vault host against the local CA', async () => {
    const ca = await createCa({ commonName: 'vaultgate local CA' });
    const caKey = createPrivateKey(ca.keyPem);
    const listener = await issueListenerCertificate({
      caCertPem: ca.certPem,
      caKey,
      dnsNames: ['*.sandbox.localhost', '*.live.localhost', 'localhost'],
      ipAddresses: ['127.0.0.1'],
    });

    const [leafPem, caPem, extra] = splitPem(listener.certPem);
    expect(extra).toBeUndefined();
    expect(leafPem).toBe(listener.leafPem);
    expect(caPem?.trim()).toBe(ca.certPem.trim());

    const root = new X509Certificate(ca.certPem);
    const leaf = new X509Certificate(listener.leafPem);
    expect(leaf.checkIssued(root)).toBe(true);
    expect(leaf.verify(root.publicKey)).toBe(true);
    expect(leaf.ca).toBe(false);
    expect(leaf.checkPrivateKey(createPrivateKey(listener.keyPem))).toBe(true);
    expect(leaf.checkPrivateKey(caKey)).toBe(false);
    expect(leaf.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // Node names the EKU "keyUsage"

    expect(leaf.checkHost('localhost')).toBe('localhost');
    expect(leaf.checkHost('tntabcdefgh.sandbox.localhost')).toBe('*.sandbox.localhost');
    expect(leaf.checkHost('tntabcdefgh.live.localhost')).toBe('*.live.localhost');
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('a.b.sandbox.localhost')).toBeUndefined(); // wildcard covers one label only
    expect(leaf.checkHost('example.com')).toBeUndefined();
    expect(leaf.checkIP('127.0.0.2')).toBeUndefined();
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(MAX_LISTENER_DAYS * DAY_MS);
    expect(listener.notAfter.getTime()).toBe(Date.parse(leaf.validTo));

    // RFC 5280 §4.2.1.1: the leaf's AKI names the CA's SKI, which is how OpenSSL picks the issuer.
    const aki = new x509.X509Certificate(listener.leafPem).getExtension(x509.AuthorityKeyIdentifierExtension);
    const ski = new x509.X509Certificate(ca.certPem).getExtension(x509.SubjectKeyIdentifierExtension);
    expect(aki?.keyId).toBe(ski?.keyId);
  });

  it('refuses bad input before signing anything', async () => {
    const ca = await createCa({ commonName: 'vaultgate local CA' });
    const other = await createCa({ commonName: 'other' });
    const base = { caCertPem: ca.certPem, caKey: createPrivateKey(ca.keyPem), dnsNames: ['localhost'] };
    await expect(issueListenerCertificate({ ...base, ipAddresses: ['localhost'] })).rejects.toThrow(/IP/);
    await expect(
      issueListenerCertificate({ ...base, dnsNames: ['*.*.localhost'], ipAddresses: [] }),
    ).rejects.toThrow();
    await expect(issueListenerCertificate({ ...base, ipAddresses: [], validityDays: 398 })).rejects.toThrow(
      /397/,
    );
    await expect(
      issueListenerCertificate({ ...base, caKey: createPrivateKey(other.keyPem), ipAddresses: [] }),
    ).rejects.toThrow(/does not belong/);
  });
});
