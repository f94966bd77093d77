/**
 * The set-up every traffic scenario needs, done through the management API as a user would: a vault
 * with an inbound route to the upstream and an access credential for the outbound proxy, the CAs the
 * clients must trust, and certificate uploads tied to either.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { certificateRequestKeyAad } from '../../src/secrets/aad.js';
import { loadMasterKey } from '../../src/secrets/files.js';
import { Keyring } from '../../src/secrets/keyring.js';
import { SQLITE_FILE_NAME } from '../../src/store/open.js';
import type { VaultgateChild } from './child.js';
import type { Credential } from './load.js';
import { signRequest, type Issued, type Pki, type TlsUpstream } from './upstream.js';

export interface Stage {
  vaultId: string;
  /** `<vault_id>.sandbox.localhost`: selects the vault on the inbound port. */
  inboundHost: string;
  routeId: string;
  cred: Credential;
  /** Signs vaultgate's own listener certificates. */
  localCa: string;
  /** Signs the outbound proxy's interception certificates for this vault. */
  vaultCa: string;
}

export async function stage(vg: VaultgateChild, upstream: TlsUpstream, name: string): Promise<Stage> {
  const vault = await vg.must('POST', '/vaults', { name, environment: 'sandbox' }, 201);
  const vaultId = vault.json.data.id as string;
  const route = await vg.must(
    'POST',
    `/vaults/${vaultId}/routes`,
    {
      destination_override_endpoint: `https://localhost:${upstream.port}`,
      tags: { name: 'reliability upstream' },
    },
    201,
  );
  const created = await vg.must('POST', `/vaults/${vaultId}/credentials`, { description: name }, 201);
  const cred = created.json.data as Credential;
  vg.options.evidence.addPassword(`${name} credential`, cred.password, cred.username);
  const localCa = (await vg.must('GET', '/local-ca', undefined, 200)).text;
  const vaultCa = (await vg.must('GET', `/vaults/${vaultId}/outbound-ca`, undefined, 200)).text;
  return {
    vaultId,
    inboundHost: vault.json.data.inbound_host as string,
    routeId: route.json.data.id as string,
    cred,
    localCa,
    vaultCa,
  };
}

export type Tie =
  { proxy_type: 'inbound'; route_id: string } | { proxy_type: 'outbound'; credential_id: string };

/** Uploads `cert` with the client root as its chain; registers the key as a secret first. */
export async function uploadCertificate(
  vg: VaultgateChild,
  pki: Pki,
  vaultId: string,
  tie: Tie,
  cert: Issued,
  label: string,
): Promise<string> {
  const chain = cert.certPem + pki.clientRoot.certPem;
  vg.options.evidence.addPrivateKey(label, cert.keyPem, chain);
  const res = await vg.must(
    'POST',
    `/vaults/${vaultId}/certificates`,
    { ...tie, description: label, certificate: chain, private_key: cert.keyPem },
    201,
  );
  return res.json.data.id as string;
}

interface RequestRow {
  private_key_sealed: string;
  vault_id: string;
  credential_id: string | null;
  route_id: string | null;
  csr_pem: string;
}

/**
 * The key vaultgate generated for a pending request, opened from its SQLite database with its master
 * key: the harness needs the clear key only to know what the secrets scan must never find.
 */
function generatedKey(dataDir: string, id: string): string {
  const db = new Database(join(dataDir, SQLITE_FILE_NAME), { readonly: true, fileMustExist: true });
  try {
    const row = db
      .prepare(
        'SELECT private_key_sealed, vault_id, credential_id, route_id, csr_pem FROM certificate_requests WHERE id = ?',
      )
      .get(id) as RequestRow | undefined;
    if (!row) throw new Error(`certificate request ${id} is not in the database`);
    const keyring = new Keyring(loadMasterKey(dataDir, undefined).value);
    return keyring.open(row.private_key_sealed, certificateRequestKeyAad({ id, ...row })).toString('utf8');
  } finally {
    db.close();
  }
}

/**
 * A certificate whose key is born in vaultgate: a certificate request, its CSR signed by the client
 * root, the signed certificate attached. Registers the generated key as a secret first.
 */
export async function requestCertificate(
  vg: VaultgateChild,
  pki: Pki,
  vaultId: string,
  tie: Tie,
  cn: string,
  label: string,
  seq: number,
): Promise<{ id: string; fingerprint256: string }> {
  const created = await vg.must(
    'POST',
    `/vaults/${vaultId}/certificate-requests`,
    { ...tie, description: label, subject: { common_name: cn }, key_type: 'ec' },
    201,
  );
  const request = created.json.data as { id: string; csr_pem: string };
  const signed = await signRequest(pki, request.csr_pem, seq);
  const chain = signed.certPem + pki.clientRoot.certPem;
  vg.options.evidence.addPrivateKey(label, generatedKey(vg.options.dataDir, request.id), chain);
  const res = await vg.must(
    'POST',
    `/vaults/${vaultId}/certificate-requests/${request.id}/certificate`,
    { certificate: chain },
    201,
  );
  return { id: res.json.data.id as string, fingerprint256: signed.fingerprint256 };
}
