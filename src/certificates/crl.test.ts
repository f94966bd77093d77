import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeCa, makeCrl, makeLeaf } from '../../test/helpers/pki-fixtures.js';
import { normaliseSerial, readRevocationLists } from './crl.js';
import { readCertificateFields } from './x509-fields.js';

describe('readRevocationLists', () => {
  it('reads the issuer, nextUpdate and revoked serials of CRLs openssl made', () => {
    const ca = makeCa({ cn: 'CRL Reader CA' });
    const revoked = makeLeaf({ issuer: ca, cn: 'revoked.example' });
    const kept = makeLeaf({ issuer: ca, cn: 'kept.example' });
    const other = makeCa({ cn: 'Empty CRL CA' });
    const [list, empty] = readRevocationLists(makeCrl(ca, [revoked]) + makeCrl(other));
    expect(list?.issuer).toBe(readCertificateFields(new X509Certificate(ca.certPem).raw).subject);
    expect(list?.revoked.has(normaliseSerial(new X509Certificate(revoked.certPem).serialNumber))).toBe(true);
    expect(list?.revoked.has(normaliseSerial(new X509Certificate(kept.certPem).serialNumber))).toBe(false);
    // default_crl_days = 30 in the fixture
    expect(list?.nextUpdate).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    expect(empty?.revoked.size).toBe(0);
  });
});
