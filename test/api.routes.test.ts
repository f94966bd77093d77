import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { routeMatchesHost } from '../src/snapshot/host-match.js';
import { makeCa } from './helpers/pki-fixtures.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;
let vault: { id: string };

beforeAll(async () => {
  t = await startTestVaultgate();
  vault = (await t.api('POST', '/vaults', { name: 'Routes' })).json.data;
});
afterAll(async () => {
  await t.stop();
});

const routes = (): string => `/vaults/${vault.id}/routes`;

describe('routes', () => {
  it('creates inbound and outbound routes with the VGS attribute names and defaults', async () => {
    const inbound = await t.api('POST', routes(), {
      destination_override_endpoint: 'https://api.customer.example:8443',
      tags: { name: 'customer api' },
      entries: [],
    });
    expect(inbound.status, inbound.text).toBe(201);
    expect(inbound.json.data).toMatchObject({
      type: 'inbound',
      destination_override_endpoint: 'https://api.customer.example:8443',
      host_endpoint: '(.*)',
      port: 443,
      protocol: 'http',
      source_endpoint: '*',
      tags: { name: 'customer api' },
      entries: [],
      upstream_tls: { verify: true },
    });
    const id = '6f1c2a4e-3b5d-4c7e-9f10-a1b2c3d4e5f6';
    const outbound = await t.api('POST', routes(), {
      id,
      destination_override_endpoint: '*',
      host_endpoint: 'api\\.visa\\.example',
    });
    expect(outbound.json.data).toMatchObject({ id, type: 'outbound' });
    const list = (await t.api('GET', routes())).json.data.map((r: { id: string }) => r.id);
    expect(list).toEqual([inbound.json.data.id, id]);
    const runtime = t.vg.snapshot.current.vaultsById.get(vault.id);
    expect(runtime?.inboundRoutes.map((r) => r.id)).toEqual([inbound.json.data.id]);
    const outboundRoute = runtime?.outboundRoutes[0];
    expect(outboundRoute && routeMatchesHost(outboundRoute, 'API.visa.example')).toBe(true);
    expect(outboundRoute && routeMatchesHost(outboundRoute, 'api.visa.example.evil')).toBe(false);
    const duplicate = await t.api('POST', routes(), { id, destination_override_endpoint: '*' });
    expect(duplicate.json.error).toMatchObject({ code: 'invalid_field', field: 'id' });
  });

  it('replaces a route whole with PUT and deletes it', async () => {
    const created = (await t.api('POST', routes(), { destination_override_endpoint: 'https://a.example' }))
      .json.data;
    const ca = makeCa({ cn: 'Upstream CA' });
    const put = await t.api('PUT', `${routes()}/${created.id}`, {
      destination_override_endpoint: 'https://b.example',
      host_endpoint: 'tnt.*',
      upstream_tls: { ca_pem: ca.certPem, verify: true, servername: 'B.example' },
    });
    expect(put.status, put.text).toBe(200);
    expect(put.json.data).toMatchObject({
      id: created.id,
      destination_override_endpoint: 'https://b.example',
      host_endpoint: 'tnt.*',
      tags: {},
      upstream_tls: { verify: true, servername: 'b.example' },
      created_at: created.created_at,
    });
    expect((await t.api('GET', `${routes()}/${created.id}`)).json.data.upstream_tls.ca_pem).toContain(
      'BEGIN CERTIFICATE',
    );
    expect((await t.api('DELETE', `${routes()}/${created.id}`)).status).toBe(204);
    const gone = await t.api('GET', `${routes()}/${created.id}`);
    expect([gone.status, gone.json.error.code]).toEqual([404, 'route_not_found']);
    // A PUT to an id no route has creates the route (SPEC §2): see "PUT creates" below.
  });

  it('takes upstream_tls.servername by the same host name rule as certificate hosts', async () => {
    const res = await t.api('POST', routes(), {
      destination_override_endpoint: '*',
      upstream_tls: { servername: 'My_Svc.Internal.' },
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.upstream_tls).toEqual({ verify: true, servername: 'my_svc.internal' });
    expect((await t.api('DELETE', `${routes()}/${res.json.data.id}`)).status).toBe(204);
  });

  it('refuses invalid routes with the field at fault and stores nothing', async () => {
    const before = (await t.api('GET', routes())).json.data.length;
    const cases: [Record<string, unknown>, string, string][] = [
      [
        { destination_override_endpoint: 'ftp://files.example' },
        'invalid_field',
        'destination_override_endpoint',
      ],
      [{ destination_override_endpoint: 'not a url' }, 'invalid_field', 'destination_override_endpoint'],
      [
        { destination_override_endpoint: 'https://a.example/?q=1' },
        'invalid_field',
        'destination_override_endpoint',
      ],
      [{ destination_override_endpoint: '*', host_endpoint: '([a-z' }, 'invalid_field', 'host_endpoint'],
      [
        { destination_override_endpoint: '*', host_endpoint: '([a-z-]+)\\1' },
        'invalid_field',
        'host_endpoint',
      ],
      [
        { destination_override_endpoint: '*', upstream_tls: { ca_pem: 'not pem' } },
        'invalid_field',
        'upstream_tls.ca_pem',
      ],
      [
        {
          destination_override_endpoint: '*',
          upstream_tls: { ca_pem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' },
        },
        'invalid_field',
        'upstream_tls.ca_pem',
      ],
      [
        { destination_override_endpoint: '*', upstream_tls: { verify: 'no' } },
        'invalid_field',
        'upstream_tls.verify',
      ],
      [
        { destination_override_endpoint: '*', upstream_tls: { insecure: true } },
        'unknown_field',
        'upstream_tls.insecure',
      ],
      // SNI is one host name (RFC 6066 §3: never an IP address), by the rule of src/hosts/names.ts.
      ...['10.0.0.1', 'api.example:443', '*.api.example', 'a..example'].map(
        (servername): [Record<string, unknown>, string, string] => [
          { destination_override_endpoint: '*', upstream_tls: { servername } },
          'invalid_field',
          'upstream_tls.servername',
        ],
      ),
      [{ destination_override_endpoint: '*', port: 70000 }, 'invalid_field', 'port'],
      [
        { destination_override_endpoint: '*', entries: [{ operation: 'REDACT' }] },
        'unsupported_filter',
        'entries',
      ],
      [{ host_endpoint: '.*' }, 'invalid_field', 'destination_override_endpoint'],
    ];
    for (const [body, code, field] of cases) {
      const res = await t.api('POST', routes(), body);
      expect(res.json?.error, JSON.stringify(body)).toMatchObject({ code, field });
      expect(res.status).toBe(code === 'unknown_field' ? 400 : 422);
    }
    expect((await t.api('GET', routes())).json.data.length).toBe(before);
    const noVault = await t.api('POST', '/vaults/tntzzzzzzzz/routes', { destination_override_endpoint: '*' });
    expect(noVault.json.error.code).toBe('vault_not_found');
  });
});

describe('PUT creates a route when the id is new', () => {
  const auditFor = async (id: string): Promise<string[]> =>
    (await t.api('GET', `/audit-events?vault_id=${vault.id}`)).json.data
      .filter((e: { target_id: string }) => e.target_id === id)
      .map((e: { action: string }) => e.action);

  it('answers 201 and audits route.created, then 200 and route.updated on the same id', async () => {
    const id = '0d9a1c52-7e4b-4f3a-8c21-5b6e7f8091a2';
    const created = await t.api('PUT', `${routes()}/${id.toUpperCase()}`, {
      destination_override_endpoint: 'https://put.example',
      tags: { name: 'made by put' },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.json.data).toMatchObject({ id, type: 'inbound', tags: { name: 'made by put' } });
    expect(await auditFor(id)).toEqual(['route.created']);
    const list = (await t.api('GET', routes())).json.data.map((r: { id: string }) => r.id);
    expect(list.at(-1)).toBe(id);
    const replaced = await t.api('PUT', `${routes()}/${id}`, { id, destination_override_endpoint: '*' });
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.json.data).toMatchObject({ id, type: 'outbound', tags: {} });
    expect(replaced.json.data.created_at).toBe(created.json.data.created_at);
    expect(await auditFor(id)).toEqual(['route.updated', 'route.created']);
    expect((await t.api('DELETE', `${routes()}/${id}`)).status).toBe(204);
  });

  it('refuses an id that is not a UUID, differs from the body, or belongs to another vault', async () => {
    const before = (await t.api('GET', routes())).json.data.length;
    const notUuid = await t.api('PUT', `${routes()}/not-a-uuid`, { destination_override_endpoint: '*' });
    expect([notUuid.status, notUuid.json.error.code, notUuid.json.error.field]).toEqual([
      422,
      'invalid_field',
      'id',
    ]);
    const differs = await t.api('PUT', `${routes()}/1a2b3c4d-0000-4000-8000-000000000001`, {
      id: '1a2b3c4d-0000-4000-8000-000000000002',
      destination_override_endpoint: '*',
    });
    expect([differs.status, differs.json.error.field]).toEqual([422, 'id']);
    const other = (await t.api('POST', '/vaults', { name: 'Other' })).json.data;
    const theirs = (await t.api('POST', `/vaults/${other.id}/routes`, { destination_override_endpoint: '*' }))
      .json.data;
    const taken = await t.api('PUT', `${routes()}/${theirs.id}`, { destination_override_endpoint: '*' });
    expect([taken.status, taken.json.error.code, taken.json.error.field]).toEqual([
      422,
      'invalid_field',
      'id',
    ]);
    const filtered = await t.api('PUT', `${routes()}/1a2b3c4d-0000-4000-8000-000000000003`, {
      destination_override_endpoint: '*',
      entries: [{ operation: 'REDACT' }],
    });
    expect([filtered.status, filtered.json.error.code]).toEqual([422, 'unsupported_filter']);
    expect((await t.api('GET', routes())).json.data.length).toBe(before);
    expect((await t.api('GET', `/vaults/${other.id}/routes/${theirs.id}`)).status).toBe(200);
    const noVault = await t.api('PUT', `/vaults/tntzzzzzzzz/routes/1a2b3c4d-0000-4000-8000-000000000004`, {
      destination_override_endpoint: '*',
    });
    expect(noVault.json.error.code).toBe('vault_not_found');
  });
});
