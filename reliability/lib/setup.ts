/**
 * The set-up every traffic scenario needs, done through the management API as a user would: a vault
 * with an inbound route to the upstream and an access credential for the outbound proxy, the CAs the
 * clients must trust, and certificate uploads tied to either.
 */
import type { VaultgateChild } from './child.js';
import type { Credential } from './load.js';
import type { Issued, Pki, TlsUpstream } from './upstream.js';

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
