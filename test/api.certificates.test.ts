import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectTarget } from '../src/proxy/outbound/target.js';
import { chainPem, makeCa, makeLeaf, makePkcs12 } from './helpers/pki-fixtures.js';
import { startTestVaultgate, type ApiResult, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;
let vault: { id: string };
let credential: { id: string };
let inboundRoute: { id: string };
let outboundRoute: { id: string };

beforeAll(async () => {
  t = await startTestVaultgate();
  vault = (await t.api('POST', '/vaults', { name: 'Certificates' })).json.data;
  credential = (await t.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data;
  inboundRoute = (
    await t.api('POST', `/vaults/${vault.id}/routes`, {
      destination_override_endpoint: 'https://api.customer.example:443',
    })
  ).json.data;
  outboundRoute = (
    await t.api('POST', `/vaults/${vault.id}/routes`, {
      destination_override_endpoint: '*',
      host_endpoint: 'api\\.visa\\.example',
    })
  ).json.data;
});
afterAll(async () => {
  await t.stop();
});

const count = async (): Promise<number> =>
  (await t.api('GET', `/vaults/${vault.id}/certificates`)).json.data.length;

describe('certificate upload', () => {
  it('stores an outbound certificate, reports its metadata and never returns the key', async () => {
    const ca = makeCa({ cn: 'Visa Test Issuing CA' });
    const leaf = makeLeaf({
      issuer: ca,
      cn: 'client.acme.example',
      keyType: 'p256',
      sans: ['DNS:client.acme.example'],
    });
    const res = await t.api('POST', `/vaults/${vault.id}/certificates`, {
      proxy_type: 'outbound',
      credential_id: credential.id,
      description: 'Visa VDP',
      certificate: chainPem(leaf),
      private_key: leaf.keyPem,
      hosts: ['api.visa.example', '*.visa.example'],
    });
    expect(res.status, res.text).toBe(201);
    const c = res.json.data;
    expect(c).toMatchObject({
      vault_id: vault.id,
      description: 'Visa VDP',
      proxy_type: 'outbound',
      credential_id: credential.id,
      route_id: null,
      hosts: ['api.visa.example', '*.visa.example'],
      key_type: 'ec',
      curve: 'P-256',
      status: 'valid',
      warnings: [],
    });
    expect(c.issuer).toContain('Visa Test Issuing CA');
    expect(c.subject).toContain('client.acme.example');
    expect(c.fingerprint_sha256).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(c.chain).toHaveLength(1);
    expect(res.text).not.toContain('PRIVATE KEY');

    const one = await t.api('GET', `/vaults/${vault.id}/certificates/${c.id}`);
    expect(one.json.data.certificate_pem).toContain('BEGIN CERTIFICATE');
    expect(one.text).not.toContain('PRIVATE KEY');

    // In the snapshot with the key ready for handshakes, tied to the credential.
    const runtime = t.vg.snapshot.current;
    const key = runtime.certificatesById.get(c.id)?.keyPem;
    expect(key && createPrivateKey(key).asymmetricKeyType).toBe('ec');
    const byCredential = [...runtime.credentialsByUsername.values()].find((x) => x.id === credential.id);
    expect(byCredential?.certificates.map((x) => x.id)).toContain(c.id);

    // The metric names it.
    const metrics = await fetch(`${t.adminUrl}/metrics`, {
      headers: { authorization: `Bearer ${t.token}` },
    }).then((r) => r.text());
    expect(metrics).toContain(
      `vaultgate_certificate_expiry_timestamp_seconds{vault_id="${vault.id}",certificate_id="${c.id}",proxy_type="outbound"}`,
    );

    // Audit.
    const audit = await t.api('GET', `/audit-events?vault_id=${vault.id}`);
    expect(audit.json.data[0]).toMatchObject({
      action: 'certificate.created',
      target_id: c.id,
      actor: 'token:bootstrap',
    });

    // The key is sealed in the database file, not in clear.
    const der = createPrivateKey(leaf.keyPem).export({ type: 'pkcs8', format: 'der' });
    const db = readFileSync(join(t.dataDir, 'vaultgate.db'));
    expect(db.includes(Buffer.from(leaf.keyPem.split('\n')[1] ?? 'x'))).toBe(false);
    expect(db.includes(der.subarray(der.length - 32))).toBe(false);
  });

  it('stores an inbound certificate from a PKCS#12 file', async () => {
    const leaf = makeLeaf({ cn: 'inbound.acme.example', keyType: 'rsa2048' });
    const p12 = makePkcs12(leaf, { passphrase: 'secret pass' });
    const res = await t.api('POST', `/vaults/${vault.id}/certificates`, {
      proxy_type: 'inbound',
      route_id: inboundRoute.id,
      pkcs12: p12,
      passphrase: 'secret pass',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data).toMatchObject({
      proxy_type: 'inbound',
      route_id: inboundRoute.id,
      key_type: 'rsa',
      key_size: 2048,
    });
    const listed = await t.api('GET', `/vaults/${vault.id}/certificates?proxy_type=inbound`);
    expect(listed.json.data.map((c: { id: string }) => c.id)).toEqual([res.json.data.id]);
    const route = t.vg.snapshot.current.vaultsById
      .get(vault.id)
      ?.inboundRoutes.find((r) => r.id === inboundRoute.id);
    expect(route?.certificates.map((c) => c.id)).toEqual([res.json.data.id]);
  });

  // Issue 14: the outbound proxy intercepts a CONNECT to `my_svc.example`; a certificate's hosts can
  // name that host in the form the proxy matches it, and both refuse the same garbage.
  it('scopes a certificate to any host the outbound proxy intercepts, underscores included', async () => {
    const leaf = makeLeaf({ cn: 'svc-client.acme.example', keyType: 'p256' });
    const upload = (hosts: string[]) =>
      t.api('POST', `/vaults/${vault.id}/certificates`, {
        proxy_type: 'outbound',
        credential_id: credential.id,
        certificate: leaf.certPem,
        private_key: leaf.keyPem,
        hosts,
      });
    const res = await upload(['My_Svc.Example.', '*._internal.acme.example']);
    expect(res.status, res.text).toBe(201);
    const target = parseConnectTarget('My_Svc.Example.:443');
    expect(res.json.data.hosts).toEqual([target.host, '*._internal.acme.example']);
    expect((await t.api('DELETE', `/vaults/${vault.id}/certificates/${res.json.data.id}`)).status).toBe(204);

    for (const refused of ['my$svc.example', '-svc.example', 'svc.example.123']) {
      expect(() => parseConnectTarget(`${refused}:443`)).toThrow();
      const bad = await upload([refused]);
      expect([bad.status, bad.json.error.field], refused).toEqual([422, 'hosts']);
    }
  });

  it('refuses bad associations and bad material with the SPEC codes, storing nothing', async () => {
    const leaf = makeLeaf({ cn: 'assoc.example' });
    const other = makeLeaf({ cn: 'other.example', keySlot: 'other' });
    const base = { certificate: leaf.certPem, private_key: leaf.keyPem };
    const before = await count();
    const cases: [Record<string, unknown>, string, string?][] = [
      [{ ...base, proxy_type: 'outbound' }, 'invalid_association', 'credential_id'],
      [
        { ...base, proxy_type: 'outbound', credential_id: credential.id, route_id: inboundRoute.id },
        'invalid_association',
      ],
      [
        { ...base, proxy_type: 'outbound', credential_id: '00000000-0000-4000-8000-000000000000' },
        'invalid_association',
        'credential_id',
      ],
      [{ ...base, proxy_type: 'inbound' }, 'invalid_association', 'route_id'],
      [{ ...base, proxy_type: 'inbound', route_id: outboundRoute.id }, 'invalid_association', 'route_id'],
      [
        { ...base, proxy_type: 'inbound', route_id: inboundRoute.id, hosts: ['a.example'] },
        'invalid_field',
        'hosts',
      ],
      [
        { ...base, proxy_type: 'outbound', credential_id: credential.id, hosts: ['*.*.example'] },
        'invalid_field',
        'hosts',
      ],
      [{ ...base, proxy_type: 'sideways' }, 'invalid_field', 'proxy_type'],
      [{ ...base, proxy_type: 'outbound', credential_id: credential.id, extra: 1 }, 'unknown_field', 'extra'],
      [
        {
          certificate: leaf.certPem,
          private_key: other.keyPem,
          proxy_type: 'outbound',
          credential_id: credential.id,
        },
        'key_mismatch',
      ],
      [
        {
          certificate: 'nonsense',
          private_key: leaf.keyPem,
          proxy_type: 'outbound',
          credential_id: credential.id,
        },
        'invalid_certificate',
      ],
      [
        {
          certificate: leaf.certPem,
          private_key: 'nonsense',
          proxy_type: 'outbound',
          credential_id: credential.id,
        },
        'invalid_private_key',
      ],
      [{ pkcs12: 'bm90IGEgcDEy', proxy_type: 'outbound', credential_id: credential.id }, 'invalid_pkcs12'],
    ];
    for (const [body, code, field] of cases) {
      const res = await t.api('POST', `/vaults/${vault.id}/certificates`, body);
      expect(res.json?.error?.code, JSON.stringify(body).slice(0, 120)).toBe(code);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      if (field) expect(res.json.error.field).toBe(field);
      for (const key of [leaf.keyPem, other.keyPem]) expect(res.text).not.toContain(key.split('\n')[1]);
    }
    expect(await count()).toBe(before);
    // Another vault's credential is not usable here.
    const otherVault = (await t.api('POST', '/vaults', { name: 'Other' })).json.data;
    const foreign = (await t.api('POST', `/vaults/${otherVault.id}/credentials`, {})).json.data;
    const res = await t.api('POST', `/vaults/${vault.id}/certificates`, {
      ...base,
      proxy_type: 'outbound',
      credential_id: foreign.id,
    });
    expect(res.json.error.code).toBe('invalid_association');
  });

  it('edits description and hosts with PATCH, audited, refusing what an upload would refuse', async () => {
    const leaf = makeLeaf({ cn: 'edit.acme.example', keyType: 'p256' });
    const created = await t.api('POST', `/vaults/${vault.id}/certificates`, {
      proxy_type: 'outbound',
      credential_id: credential.id,
      description: 'before',
      certificate: chainPem(leaf),
      private_key: leaf.keyPem,
    });
    expect(created.status, created.text).toBe(201);
    const id = created.json.data.id as string;
    const path = `/vaults/${vault.id}/certificates/${id}`;
    const sealedBefore = (await t.vg.store.read.getCertificate(vault.id, id))?.private_key_sealed;

    const res = await t.api('PATCH', path, { description: 'after', hosts: ['API.Visa.example'] });
    expect(res.status, res.text).toBe(200);
    const { description: _d, hosts: _h, status: _s, ...unchanged } = created.json.data;
    expect(res.json.data).toMatchObject({ ...unchanged, description: 'after', hosts: ['api.visa.example'] });
    expect((await t.api('GET', path)).json.data).toMatchObject({ description: 'after' });
    // Only the description changes when only it is sent.
    const one = await t.api('PATCH', path, { description: 'only this' });
    expect(one.json.data).toMatchObject({ description: 'only this', hosts: ['api.visa.example'] });
    expect((await t.vg.store.read.getCertificate(vault.id, id))?.private_key_sealed).toBe(sealedBefore);
    expect(t.vg.snapshot.current.certificatesById.get(id)?.hosts).toEqual(['api.visa.example']);

    const refused: [unknown, number, string, string | undefined][] = [
      [{ certificate: 'x' }, 400, 'unknown_field', 'certificate'],
      [{ hosts: ['*.*.example'] }, 422, 'invalid_field', 'hosts'],
      [{ description: 7 }, 422, 'invalid_field', 'description'],
    ];
    for (const [body, status, code, field] of refused) {
      const bad = await t.api('PATCH', path, body);
      expect([bad.status, bad.json.error.code, bad.json.error.field], JSON.stringify(body)).toEqual([
        status,
        code,
        field,
      ]);
    }
    const missing = await t.api('PATCH', `/vaults/${vault.id}/certificates/nope`, { description: 'x' });
    expect([missing.status, missing.json.error.code]).toEqual([404, 'certificate_not_found']);
    expect((await t.api('GET', path)).json.data).toMatchObject({ description: 'only this' });

    const inbound = makeLeaf({ cn: 'inbound-edit.acme.example', keyType: 'p256' });
    const inboundId = (
      await t.api('POST', `/vaults/${vault.id}/certificates`, {
        proxy_type: 'inbound',
        route_id: inboundRoute.id,
        certificate: chainPem(inbound),
        private_key: inbound.keyPem,
      })
    ).json.data.id as string;
    const inboundHosts = await t.api('PATCH', `/vaults/${vault.id}/certificates/${inboundId}`, {
      hosts: ['a.example'],
    });
    expect([inboundHosts.status, inboundHosts.json.error.code]).toEqual([422, 'invalid_field']);
    expect((await t.api('DELETE', `/vaults/${vault.id}/certificates/${inboundId}`)).status).toBe(204);

    const audit = await t.api('GET', `/audit-events?vault_id=${vault.id}&action=certificate.updated`);
    expect(audit.json.data.filter((e: { target_id: string }) => e.target_id === id)).toHaveLength(2);
  });

  it('blocks deleting a credential or route with certificates, and deletes certificates', async () => {
    const blocked = await t.api('DELETE', `/vaults/${vault.id}/credentials/${credential.id}`);
    expect([blocked.status, blocked.json.error.code]).toEqual([409, 'credential_in_use']);
    const blockedRoute = await t.api('DELETE', `/vaults/${vault.id}/routes/${inboundRoute.id}`);
    expect([blockedRoute.status, blockedRoute.json.error.code]).toEqual([409, 'route_in_use']);

    const list = (await t.api('GET', `/vaults/${vault.id}/certificates`)).json.data as { id: string }[];
    for (const c of list)
      expect((await t.api('DELETE', `/vaults/${vault.id}/certificates/${c.id}`)).status).toBe(204);
    for (const c of list) expect(t.vg.snapshot.current.certificatesById.has(c.id)).toBe(false);
    const again = await t.api('DELETE', `/vaults/${vault.id}/certificates/${list[0]?.id}`);
    expect([again.status, again.json.error.code]).toEqual([404, 'certificate_not_found']);
    expect((await t.api('DELETE', `/vaults/${vault.id}/credentials/${credential.id}`)).status).toBe(204);
    const audit = await t.api('GET', `/audit-events?vault_id=${vault.id}`);
    expect(audit.json.data.map((e: { action: string }) => e.action)).toContain('certificate.deleted');
  });
});

describe('uploads checked against the TLS context the proxies build (SPEC §2)', () => {
  const upload = async (body: Record<string, unknown>): Promise<ApiResult> => {
    const cred = (await t.api('POST', `/vaults/${vault.id}/credentials`, {})).json.data;
    return t.api('POST', `/vaults/${vault.id}/certificates`, {
      proxy_type: 'outbound',
      credential_id: cred.id,
      ...body,
    });
  };
  const root = makeCa({ cn: 'TLS Check Root' });
  const intermediate = makeCa({ cn: 'TLS Check Intermediate', issuer: root });

  it('refuses a leaf signed with SHA-1 as 422 weak_signature, storing nothing', async () => {
    const before = await count();
    const leaf = makeLeaf({ issuer: intermediate, cn: 'sha1.tls-check.example', digest: 'sha1' });
    const res = await upload({ certificate: chainPem(leaf), private_key: leaf.keyPem });
    expect(res.status, res.text).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'weak_signature', field: 'certificate' });
    expect(res.json.error.message).toContain('SHA-1');
    expect(await count()).toBe(before);
  });

  it('refuses a leaf under a SHA-1 intermediate as 422 weak_signature naming the intermediate', async () => {
    const old = makeCa({ cn: 'TLS Check SHA-1 Intermediate', issuer: root, digest: 'sha1' });
    const leaf = makeLeaf({ issuer: old, cn: 'under-sha1.tls-check.example' });
    const res = await upload({ certificate: chainPem(leaf), private_key: leaf.keyPem });
    expect(res.status, res.text).toBe(422);
    expect(res.json.error.code).toBe('weak_signature');
    expect(res.json.error.message).toContain('TLS Check SHA-1 Intermediate');
  });

  it('stores a PKCS#12 that carries extra certificates, with extra_certificates_dropped', async () => {
    const leaf = makeLeaf({ issuer: intermediate, cn: 'p12-extra.tls-check.example' });
    const p12 = makePkcs12(leaf, {
      passphrase: 'pw',
      extraCertsPem: [makeCa({ cn: 'TLS Check Unrelated CA' }).certPem, intermediate.certPem, root.certPem],
    });
    const res = await upload({ pkcs12: p12, passphrase: 'pw' });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.warnings).toEqual(['extra_certificates_dropped']);
    const stored = await t.api('GET', `/vaults/${vault.id}/certificates/${res.json.data.id}`);
    expect(stored.json.data.certificate_pem).toBe(chainPem(leaf));
  });

  it('stores leaf + root with the intermediate missing, with incomplete_chain', async () => {
    const leaf = makeLeaf({ issuer: intermediate, cn: 'gap.tls-check.example' });
    const res = await upload({ certificate: leaf.certPem + root.certPem, private_key: leaf.keyPem });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.warnings).toContain('incomplete_chain');
    expect(res.json.data.chain).toEqual([]);
  });
});
