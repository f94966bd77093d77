/**
 * Sealed certificate keys are bound to where they belong (issue 13, src/secrets/aad.ts): with write
 * access to the database but not the master key, a certificate row moved to another vault and
 * credential, or given another chain, no longer opens — vault B never presents vault A's client
 * certificate. Keys stored under the old id-only binding are re-sealed once at start-up.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { legacyCertificateKeyAad } from '../src/secrets/aad.js';
import { loadMasterKey } from '../src/secrets/files.js';
import { Keyring } from '../src/secrets/keyring.js';
import { basic } from './helpers/outbound-client.js';
import { signCsr } from './helpers/pki-fixtures.js';
import {
  issue,
  startTlsUpstream,
  type Issued,
  type PeerReport,
  type TlsUpstream,
} from './helpers/tls-upstream.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

interface Cred {
  id: string;
  username: string;
  password: string;
}
interface Tenant {
  vaultId: string;
  caPem: string;
  cred: Cred;
}

let root: Issued;
let clientRoot: Issued;
let upstream: TlsUpstream;
let caFile: string;
const running: TestVaultgate[] = [];

beforeAll(async () => {
  root = await issue({ cn: 'binding root', ca: true });
  clientRoot = await issue({ cn: 'binding client root', ca: true });
  upstream = await startTlsUpstream({
    server: await issue({ cn: 'localhost', issuer: root, usage: 'server', sans: ['localhost'] }),
    clientCa: [clientRoot.certPem],
    requestCert: true,
  });
  caFile = join(mkdtempSync(join(tmpdir(), 'vaultgate-binding-ca-')), 'upstream-ca.pem');
  writeFileSync(caFile, root.certPem);
});
afterAll(async () => {
  for (const t of running) await t.stop();
  await upstream.close();
});

/** Starts vaultgate on `dataDir` (a new one when absent), trusting the upstream's root. */
async function start(
  dataDir = mkdtempSync(join(tmpdir(), 'vaultgate-binding-')),
): Promise<{ t: TestVaultgate; logs: string[] }> {
  const logs: string[] = [];
  const t = await startTestVaultgate(
    { VAULTGATE_DATA_DIR: dataDir, VAULTGATE_UPSTREAM_CA_FILE: caFile },
    { logLines: logs },
  );
  running.push(t);
  return { t, logs };
}

async function stop(t: TestVaultgate): Promise<void> {
  running.splice(running.indexOf(t), 1);
  await t.stop();
}

async function tenant(t: TestVaultgate, name: string): Promise<Tenant> {
  const vault = (await t.api('POST', '/vaults', { name, environment: 'sandbox' })).json.data;
  const cred = (await t.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data as Cred;
  const caPem = (await fetch(`${t.adminUrl}/api/v1/vaults/${vault.id}/outbound-ca`, {
    headers: { authorization: `Bearer ${t.token}` },
  }).then((r) => r.text())) as string;
  return { vaultId: vault.id, caPem, cred };
}

async function uploadFor(t: TestVaultgate, who: Tenant, cn: string): Promise<{ id: string; leaf: Issued }> {
  const leaf = await issue({ cn, issuer: clientRoot });
  const res = await t.api('POST', `/vaults/${who.vaultId}/certificates`, {
    proxy_type: 'outbound',
    credential_id: who.cred.id,
    certificate: leaf.certPem + clientRoot.certPem,
    private_key: leaf.keyPem,
  });
  expect(res.status, res.text).toBe(201);
  return { id: res.json.data.id, leaf };
}

/** The client certificate the upstream received through `who`'s credential (null: none). */
async function presented(t: TestVaultgate, who: Tenant): Promise<string | null> {
  const dispatcher = new ProxyAgent({
    uri: `http://127.0.0.1:${t.vg.ports.outbound}`,
    token: basic(who.cred),
    requestTls: { ca: who.caPem },
  });
  try {
    const res = await request(`https://localhost:${upstream.port}/who`, { dispatcher });
    const body = (await res.body.json()) as PeerReport & { error?: { code: string } };
    if (res.statusCode === 200) return body.clientCn;
    expect(body.error?.code).toBe('upstream_client_certificate_rejected');
    return null;
  } finally {
    await dispatcher.close();
  }
}

describe('sealed certificate keys are bound to their vault, credential and chain', () => {
  it('a row moved to another vault and credential is left out after a restart: vault B never presents A’s certificate', async () => {
    const { t } = await start();
    const a = await tenant(t, 'vault a');
    const b = await tenant(t, 'vault b');
    const { id } = await uploadFor(t, a, 'client-of-a');
    expect(await presented(t, a)).toBe('client-of-a');
    expect(await presented(t, b)).toBe(null);

    // The attacker rewrites the row in the database (no master key needed for that).
    await t.vg.store.write(async (repo) => {
      const row = await repo.getCertificate(a.vaultId, id);
      if (!row) throw new Error('missing row');
      await repo.deleteCertificate(a.vaultId, id);
      await repo.insertCertificate({ ...row, vault_id: b.vaultId, credential_id: b.cred.id });
    });
    const dataDir = t.dataDir;
    await stop(t);
    const again = await start(dataDir);
    expect(await presented(again.t, b)).toBe(null);
    expect(again.t.vg.snapshot.current.certificatesById.has(id)).toBe(false);
    const line = again.logs.find((l) => l.includes('cannot be opened') && l.includes(id));
    expect(line, again.logs.join('\n')).toBeDefined();
    expect(again.logs.join('\n')).not.toMatch(/PRIVATE KEY/);
    await stop(again.t);
  });

  it('a generated key (certificate request) moved to another vault and credential does not open: nothing is stored', async () => {
    const { t, logs } = await start();
    const a = await tenant(t, 'request a');
    const b = await tenant(t, 'request b');
    const ask = async (who: Tenant, cn: string) => {
      const res = await t.api('POST', `/vaults/${who.vaultId}/certificate-requests`, {
        proxy_type: 'outbound',
        credential_id: who.cred.id,
        subject: { common_name: cn },
        key_type: 'ec',
      });
      expect(res.status, res.text).toBe(201);
      return res.json.data as { id: string; csr_pem: string };
    };
    // signCsr reads only the issuer's certificate and key.
    const ca = { certPem: clientRoot.certPem, keyPem: clientRoot.keyPem, subject: '', issuers: [] };
    const kept = await ask(a, 'request-of-a');
    const moved = await ask(a, 'moved-request');

    await t.vg.store.write(async (repo) => {
      const row = await repo.getCertificateRequest(a.vaultId, moved.id);
      if (!row) throw new Error('missing row');
      await repo.deleteCertificateRequest(a.vaultId, moved.id);
      await repo.insertCertificateRequest({ ...row, vault_id: b.vaultId, credential_id: b.cred.id });
    });
    const refused = await t.api('POST', `/vaults/${b.vaultId}/certificate-requests/${moved.id}/certificate`, {
      certificate: signCsr(moved.csr_pem, ca) + clientRoot.certPem,
    });
    expect(refused.status).toBe(500);
    expect(refused.json.error.message).toContain('cannot be opened');
    expect((await t.api('GET', `/vaults/${b.vaultId}/certificates`)).json.data).toEqual([]);
    expect(await presented(t, b)).toBe(null);
    expect(logs.find((l) => l.includes('cannot be opened') && l.includes(moved.id))).toBeDefined();

    // The request left where it was completes, and its key is what vault A presents.
    const done = await t.api('POST', `/vaults/${a.vaultId}/certificate-requests/${kept.id}/certificate`, {
      certificate: signCsr(kept.csr_pem, ca) + clientRoot.certPem,
    });
    expect(done.status, done.text).toBe(201);
    expect(await presented(t, a)).toBe('request-of-a');
    expect(logs.join('\n')).not.toMatch(/PRIVATE KEY/);
    await stop(t);
  });

  it('a row given another chain does not open either', async () => {
    const { t } = await start();
    const a = await tenant(t, 'vault chain');
    const { id } = await uploadFor(t, a, 'original-chain');
    const other = await issue({ cn: 'swapped-chain', issuer: clientRoot });
    await t.vg.store.write(async (repo) => {
      const row = await repo.getCertificate(a.vaultId, id);
      if (!row) throw new Error('missing row');
      await repo.deleteCertificate(a.vaultId, id);
      await repo.insertCertificate({ ...row, certificate_pem: other.certPem + clientRoot.certPem });
    });
    const dataDir = t.dataDir;
    await stop(t);
    const again = await start(dataDir);
    expect(again.t.vg.snapshot.current.certificatesById.has(id)).toBe(false);
    expect(await presented(again.t, a)).toBe(null);
    await stop(again.t);
  });

  it('keys sealed under the old id-only binding are re-sealed once at start and keep being presented', async () => {
    const { t, logs } = await start();
    const a = await tenant(t, 'vault legacy');
    const { id, leaf } = await uploadFor(t, a, 'legacy-client');
    // Put the row back the way vaultgate before issue 13 stored it.
    const keyring = new Keyring(loadMasterKey(t.dataDir, undefined).value);
    const legacy = keyring.seal(leaf.keyPem, legacyCertificateKeyAad(id));
    await t.vg.store.write(async (repo) => {
      await repo.replaceCertificateKeySealed(id, legacy);
      await repo.setMeta('certificate_key_binding', '1');
    });
    expect(logs.some((l) => l.includes('re-sealed'))).toBe(false);
    const dataDir = t.dataDir;
    await stop(t);

    const again = await start(dataDir);
    expect(again.logs.filter((l) => l.includes('re-sealed'))).toHaveLength(1);
    expect(await presented(again.t, a)).toBe('legacy-client');
    const stored = await again.t.vg.store.read.getCertificate(a.vaultId, id);
    expect(stored?.private_key_sealed).not.toBe(legacy);
    expect(() => keyring.open(stored?.private_key_sealed ?? '', legacyCertificateKeyAad(id))).toThrow();
    expect(await again.t.vg.store.read.getMeta('certificate_key_binding')).toBe('2');
    const dir = again.t.dataDir;
    await stop(again.t);

    // A later start finds nothing to do.
    const third = await start(dir);
    expect(third.logs.some((l) => l.includes('re-sealed'))).toBe(false);
    expect(await presented(third.t, a)).toBe('legacy-client');
    await stop(third.t);
  });
});
