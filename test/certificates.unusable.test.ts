/**
 * Stored certificates that the TLS stack refuses — rows written straight into the store, as a
 * tampering attacker or an older vaultgate (that accepted SHA-1 chains) would leave them — never stop
 * vaultgate from starting or from serving the other certificates: they are never presented, are
 * reported in the log (without secrets) and in a metric, and drop out of the snapshot. Real process,
 * real store, real TLS handshakes against an upstream that demands a client certificate.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../src/secrets/keyring.js';
import { loadMasterKey } from '../src/secrets/files.js';
import { certificateKeyAad } from '../src/secrets/aad.js';
import { basic } from './helpers/outbound-client.js';
import { makeLeaf, type Issued as PkiIssued } from './helpers/pki-fixtures.js';
import { issue, startTlsUpstream, type Issued, type TlsUpstream } from './helpers/tls-upstream.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

const DAY = 86_400_000;

let dataDir: string;
let upstream: TlsUpstream;
let clientRoot: Issued;
let outboundCaPem: string;
let t: TestVaultgate | undefined;
let logLines: string[] = [];
let vaultId: string;
let credential: { id: string; username: string; password: string };
let good: Issued;

async function start(): Promise<TestVaultgate> {
  logLines = [];
  t = await startTestVaultgate(
    { VAULTGATE_DATA_DIR: dataDir, VAULTGATE_UPSTREAM_CA_FILE: join(dataDir, 'upstream-ca.pem') },
    { logLines },
  );
  return t;
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vaultgate-unusable-'));
  const root = await issue({ cn: 'unusable upstream root', ca: true });
  clientRoot = await issue({ cn: 'unusable client root', ca: true });
  const server = await issue({ cn: 'localhost', issuer: root, usage: 'server', sans: ['localhost'] });
  upstream = await startTlsUpstream({ server, clientCa: [clientRoot.certPem] });
  writeFileSync(join(dataDir, 'upstream-ca.pem'), root.certPem);
  const vg = await start();
  const vault = (await vg.api('POST', '/vaults', { name: 'Unusable rows' })).json.data;
  vaultId = vault.id;
  outboundCaPem = (await vg.api('GET', `/vaults/${vaultId}/outbound-ca`)).text;
  credential = (await vg.api('POST', `/vaults/${vaultId}/credentials`, {})).json.data;
  // The good certificate is older (notBefore a day ago), so every bad row below would win the
  // choice rule (latest notBefore) if it were not refused.
  good = await issue({ cn: 'good client', issuer: clientRoot, notBefore: new Date(Date.now() - DAY) });
  const res = await vg.api('POST', `/vaults/${vaultId}/certificates`, {
    proxy_type: 'outbound',
    credential_id: credential.id,
    certificate: good.certPem + clientRoot.certPem,
    private_key: good.keyPem,
  });
  expect(res.status, res.text).toBe(201);
});

afterAll(async () => {
  await t?.stop();
  await upstream?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** The client root as pki-fixtures' openssl-based signer wants it. */
function clientRootSigner(): PkiIssued {
  return {
    certPem: clientRoot.certPem,
    keyPem: clientRoot.keyPem,
    subject: '/CN=unusable client root',
    issuers: [],
  };
}

/**
 * Writes a certificate row directly into the store, sealed like the API seals (so the key opens):
 * only the TLS stack can tell it is unusable.
 */
async function insertRow(vg: TestVaultgate, chainPem: string, keyPem: string): Promise<string> {
  const keyring = new Keyring(loadMasterKey(dataDir, undefined).value);
  const id = randomUUID();
  await vg.vg.store.write(async (repo) => {
    await repo.insertCertificate({
      id,
      vault_id: vaultId,
      proxy_type: 'outbound',
      credential_id: credential.id,
      route_id: null,
      description: 'written straight into the store',
      hosts: [],
      subject: 'CN=bad row',
      issuer: 'CN=unusable client root',
      serial_number: '01',
      not_before: new Date(Date.now() - 60_000).toISOString(),
      not_after: new Date(Date.now() + 30 * DAY).toISOString(),
      fingerprint_sha256: '00',
      key_type: 'ec',
      key_size: null,
      curve: 'P-256',
      sans: [],
      chain: [],
      certificate_pem: chainPem,
      private_key_sealed: keyring.seal(
        keyPem,
        certificateKeyAad({
          id,
          vault_id: vaultId,
          credential_id: credential.id,
          route_id: null,
          certificate_pem: chainPem,
        }),
      ),
      warnings: [],
      created_at: new Date().toISOString(),
      updated_at: new Date().toISOString(),
    });
  });
  return id;
}

/** One GET through vaultgate's own outbound proxy; the upstream answers with the client certificate it saw. */
async function presented(vg: TestVaultgate): Promise<{ status: number; fingerprint: string | undefined }> {
  const dispatcher = new ProxyAgent({
    uri: `http://127.0.0.1:${vg.vg.ports.outbound}`,
    token: basic(credential),
    requestTls: { ca: outboundCaPem },
  });
  try {
    const res = await request(`https://localhost:${upstream.port}/who`, { dispatcher });
    const body = (await res.body.json()) as { clientFingerprint256?: string };
    return { status: res.statusCode, fingerprint: body.clientFingerprint256 };
  } finally {
    await dispatcher.close();
  }
}

async function unusableGauge(vg: TestVaultgate): Promise<number> {
  const text = await fetch(`${vg.adminUrl}/metrics`, {
    headers: { authorization: `Bearer ${vg.token}` },
  }).then((r) => r.text());
  // One series per worker (each judges the rows it presents); the test runs one worker.
  const series = [
    ...text.matchAll(/^vaultgate_certificates_unusable\{reason="tls_refused",worker="[^"]+"\} (\d+)$/gm),
  ];
  return series.length === 0 ? NaN : series.reduce((sum, m) => sum + Number(m[1]), 0);
}

describe('stored certificates the TLS stack refuses', () => {
  const bad: string[] = [];

  it('a SHA-1 chain and a key that is not its certificate’s, written into the store, are never presented', async () => {
    const vg = t as TestVaultgate;
    const sha1 = makeLeaf({ issuer: clientRootSigner(), cn: 'sha1 row', digest: 'sha1' });
    bad.push(await insertRow(vg, sha1.certPem + clientRoot.certPem, sha1.keyPem));
    const other = await issue({ cn: 'mismatch row', issuer: clientRoot });
    const stranger = await issue({ cn: 'stranger', issuer: clientRoot });
    bad.push(await insertRow(vg, other.certPem + clientRoot.certPem, stranger.keyPem));
    await vg.vg.refresh();

    // Every request is served with the good certificate; before, the first one threw `ca md too
    // weak` out of createSecureContext and took the process down.
    for (let i = 0; i < 3; i++) {
      const res = await presented(vg);
      expect(res).toEqual({ status: 200, fingerprint: good.fingerprint256 });
    }
    expect((await fetch(`${vg.adminUrl}/healthz`)).status).toBe(200);

    const reports = logLines.filter((l) => l.includes('cannot be used by the TLS stack'));
    const reported = reports.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(reported.map((r) => r.certificate_id).sort()).toEqual([...bad].sort());
    expect(reported.map((r) => r.code).sort()).toEqual(['key_mismatch', 'weak_signature']);
    expect(reports.join('\n')).not.toMatch(/PRIVATE KEY|BEGIN/);
    expect(await unusableGauge(vg)).toBe(2);

    // The next snapshot (in the worker that judged them) leaves them out; they are not judged or
    // reported again, and presenting keeps working.
    await vg.vg.refresh();
    expect(await presented(vg)).toEqual({ status: 200, fingerprint: good.fingerprint256 });
    // Reported once each: rows are immutable, judged once.
    expect(logLines.filter((l) => l.includes('cannot be used by the TLS stack'))).toHaveLength(2);
  });

  it('a vaultgate whose store already holds such rows starts and serves', async () => {
    await (t as TestVaultgate).stop();
    t = undefined;
    const vg = await start();
    expect((await fetch(`${vg.adminUrl}/healthz`)).status).toBe(200);
    expect(await presented(vg)).toEqual({ status: 200, fingerprint: good.fingerprint256 });
    expect(logLines.filter((l) => l.includes('cannot be used by the TLS stack'))).toHaveLength(2);
    // Deleting a left-out certificate through the API still works, and the gauge follows.
    expect(await unusableGauge(vg)).toBe(2);
    expect((await vg.api('DELETE', `/vaults/${vaultId}/certificates/${bad[0]}`)).status).toBe(204);
    expect(await unusableGauge(vg)).toBe(1);
  });
});
