import { createPrivateKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeLeaf } from './helpers/pki-fixtures.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;
const logLines: string[] = [];

beforeAll(async () => {
  t = await startTestVaultgate({}, { logLines });
});
afterAll(async () => {
  await t.stop();
});

describe('the runtime snapshot', () => {
  it('leaves out a certificate whose sealed key was moved from another row, and keeps applying changes', async () => {
    const vaultId = t.vg.defaultVault?.vaultId ?? '';
    const credential = (await t.api('GET', `/vaults/${vaultId}/credentials`)).json.data[0];
    const ids: string[] = [];
    for (const cn of ['one.example', 'two.example']) {
      const leaf = makeLeaf({ cn });
      const res = await t.api('POST', `/vaults/${vaultId}/certificates`, {
        proxy_type: 'outbound',
        credential_id: credential.id,
        certificate: leaf.certPem,
        private_key: leaf.keyPem,
      });
      expect(res.status, res.text).toBe(201);
      ids.push(res.json.data.id);
    }
    const [first, second] = ids as [string, string];
    // An id that is certainly not the original one: were it the same, the cached certificate would
    // hide the tampering (it failed 1 run in 16 when the last character happened to be '0').
    const moved = `${first.slice(0, -1)}${first.endsWith('0') ? '1' : '0'}`;
    // Copy the second certificate's sealed key onto the first row (as a tampering attacker could).
    await t.vg.store.write(async (repo) => {
      const a = await repo.getCertificate(vaultId, first);
      const b = await repo.getCertificate(vaultId, second);
      if (!a || !b) throw new Error('missing');
      await repo.deleteCertificate(vaultId, first);
      await repo.insertCertificate({
        ...a,
        id: moved,
        private_key_sealed: b.private_key_sealed,
      });
    });
    await t.vg.snapshot.refresh();
    const certs = t.vg.snapshot.current.certificatesById;
    expect(certs.has(second)).toBe(true);
    expect(certs.has(moved)).toBe(false);
    expect(logLines.some((l) => l.includes('cannot be opened'))).toBe(true);

    // Later changes still reach the data plane.
    const created = (await t.api('POST', `/vaults/${vaultId}/credentials`, {})).json.data;
    expect(t.vg.snapshot.current.credentialsByUsername.has(created.username)).toBe(true);
  });

  it('holds the opened key of a certificate as the PKCS#8 PEM the TLS context takes', async () => {
    const cert = [...t.vg.snapshot.current.certificatesById.values()][0];
    expect(cert?.keyPem.toString()).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(cert && createPrivateKey(cert.keyPem).asymmetricKeyType).toBeDefined();
  });
});
