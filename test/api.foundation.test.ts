import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;

beforeAll(async () => {
  t = await startTestVaultgate();
});
afterAll(async () => {
  await t.stop();
});

async function vaultCount(): Promise<number> {
  return (await t.api('GET', '/vaults')).json.data.length;
}

describe('authentication', () => {
  it('refuses calls without or with a wrong token', async () => {
    const none = await fetch(`${t.adminUrl}/api/v1/vaults`);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    const wrong = await t.api('GET', '/vaults', undefined, { authorization: 'Bearer not-the-token' });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe('unauthorized');
  });

  it('serves health probes without a token and metrics only with one', async () => {
    expect((await fetch(`${t.adminUrl}/healthz`)).status).toBe(200);
    expect((await fetch(`${t.adminUrl}/readyz`)).status).toBe(200);
    expect((await fetch(`${t.adminUrl}/metrics`)).status).toBe(401);
    const metrics = await fetch(`${t.adminUrl}/metrics`, { headers: { authorization: `Bearer ${t.token}` } });
    expect(metrics.status).toBe(200);
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
  });

  it('exchanges the token for an HttpOnly SameSite=Strict session that needs the CSRF token to write', async () => {
    const bad = await fetch(`${t.adminUrl}/api/v1/session`, {
      method: 'POST',
      body: JSON.stringify({ token: 'nope' }),
    });
    expect(bad.status).toBe(401);
    const res = await fetch(`${t.adminUrl}/api/v1/session`, {
      method: 'POST',
      body: JSON.stringify({ token: t.token }),
    });
    expect(res.status).toBe(201);
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const csrf = ((await res.json()) as { data: { csrf_token: string } }).data.csrf_token;
    const session = cookie.split(';')[0] ?? '';
    const list = await fetch(`${t.adminUrl}/api/v1/vaults`, { headers: { cookie: session } });
    expect(list.status).toBe(200);
    const before = await vaultCount();
    const noCsrf = await fetch(`${t.adminUrl}/api/v1/vaults`, {
      method: 'POST',
      headers: { cookie: session },
      body: '{"name":"x"}',
    });
    expect(noCsrf.status).toBe(401);
    expect(await vaultCount()).toBe(before);
    const withCsrf = await fetch(`${t.adminUrl}/api/v1/vaults`, {
      method: 'POST',
      headers: { cookie: session, 'x-csrf-token': csrf },
      body: '{"name":"from the dashboard"}',
    });
    expect(withCsrf.status).toBe(201);
    const forged = await fetch(`${t.adminUrl}/api/v1/vaults`, {
      headers: { cookie: session.replace(/.$/, 'A') },
    });
    expect(forged.status).toBe(401);
  });
});

describe('request validation', () => {
  it('answers invalid_json, unknown_field, invalid_field and payload_too_large and changes nothing', async () => {
    const before = await vaultCount();
    const badJson = await t.api('POST', '/vaults', '{"name": ');
    expect([badJson.status, badJson.json.error.code]).toEqual([400, 'invalid_json']);
    const unknown = await t.api('POST', '/vaults', { nmae: 'typo' });
    expect([unknown.status, unknown.json.error.code, unknown.json.error.field]).toEqual([
      400,
      'unknown_field',
      'nmae',
    ]);
    const badEnv = await t.api('POST', '/vaults', { name: 'x', environment: 'prod' });
    expect([badEnv.status, badEnv.json.error.code, badEnv.json.error.field]).toEqual([
      422,
      'invalid_field',
      'environment',
    ]);
    const wrongType = await t.api('POST', '/vaults', { name: 42 });
    expect([wrongType.status, wrongType.json.error.code, wrongType.json.error.field]).toEqual([
      422,
      'invalid_field',
      'name',
    ]);
    const notObject = await t.api('POST', '/vaults', '[1,2]');
    expect(notObject.json.error.code).toBe('invalid_field');
    const huge = await t.api('POST', '/vaults', { name: 'x'.repeat(1024 * 1024 + 10) });
    expect([huge.status, huge.json.error.code]).toEqual([413, 'payload_too_large']);
    expect(await vaultCount()).toBe(before);
    for (const r of [badJson, unknown, badEnv, huge]) expect(typeof r.json.error.message).toBe('string');
  });

  it('answers unknown paths and methods with a JSON error', async () => {
    const missing = await t.api('GET', '/nothing-here');
    expect(missing.status).toBe(404);
    const method = await t.api('PATCH', '/vaults');
    expect(method.status).toBe(405);
  });
});

describe('vaults', () => {
  it('creates, lists, gets and deletes a vault', async () => {
    const created = await t.api('POST', '/vaults', { name: 'Payments', environment: 'live' });
    expect(created.status).toBe(201);
    const v = created.json.data;
    expect(v.id).toMatch(/^tnt[a-z0-9]{8}$/);
    expect(v).toMatchObject({
      name: 'Payments',
      environment: 'live',
      inbound_host: `${v.id}.live.localhost`,
    });
    expect(new Date(v.created_at).toISOString()).toBe(v.created_at);
    expect((await t.api('GET', `/vaults/${v.id}`)).json.data).toEqual(v);
    expect((await t.api('GET', '/vaults')).json.data.map((x: { id: string }) => x.id)).toContain(v.id);
    const ca = await t.api('GET', `/vaults/${v.id}/outbound-ca`);
    expect(ca.headers.get('content-type')).toBe('application/x-pem-file');
    expect(new X509Certificate(ca.text).ca).toBe(true);
    expect((await t.api('DELETE', `/vaults/${v.id}`)).status).toBe(204);
    const gone = await t.api('GET', `/vaults/${v.id}`);
    expect([gone.status, gone.json.error.code]).toEqual([404, 'vault_not_found']);
  });

  it('refuses to delete a vault that holds credentials unless forced', async () => {
    const v = (await t.api('POST', '/vaults', { name: 'Busy' })).json.data;
    expect(v.environment).toBe('sandbox');
    await t.api('POST', `/vaults/${v.id}/credentials`, {});
    const refused = await t.api('DELETE', `/vaults/${v.id}`);
    expect([refused.status, refused.json.error.code]).toEqual([409, 'vault_not_empty']);
    expect((await t.api('GET', `/vaults/${v.id}`)).status).toBe(200);
    expect((await t.api('DELETE', `/vaults/${v.id}?force=true`)).status).toBe(204);
    expect((await t.api('GET', `/vaults/${v.id}/credentials`)).status).toBe(404);
  });

  it('serves the local CA', async () => {
    const res = await t.api('GET', '/local-ca');
    expect(res.status).toBe(200);
    expect(new X509Certificate(res.text).subject).toMatch(/vaultgate local CA/);
  });
});

describe('access credentials', () => {
  it('shows the password once, stores only a hash, and can be deactivated and deleted', async () => {
    const v = (await t.api('POST', '/vaults', { name: 'Creds' })).json.data;
    const created = await t.api('POST', `/vaults/${v.id}/credentials`, { description: 'billing service' });
    expect(created.status).toBe(201);
    const c = created.json.data;
    expect(c.username).toMatch(/^US[1-9A-HJ-NP-Za-km-z]{22}$/);
    expect(c.password).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(c).toMatchObject({ status: 'active', description: 'billing service' });

    const list = await t.api('GET', `/vaults/${v.id}/credentials`);
    expect(list.json.data).toHaveLength(1);
    expect(list.text).not.toContain(c.password);
    expect(list.json.data[0]).not.toHaveProperty('password');

    const patched = await t.api('PATCH', `/vaults/${v.id}/credentials/${c.id}`, { status: 'inactive' });
    expect(patched.json.data.status).toBe('inactive');
    expect(t.vg.snapshot.current.credentialsByUsername.get(c.username)?.active).toBe(false);

    const badPatch = await t.api('PATCH', `/vaults/${v.id}/credentials/${c.id}`, { status: 'paused' });
    expect(badPatch.json.error).toMatchObject({ code: 'invalid_field', field: 'status' });
    expect((await t.api('DELETE', `/vaults/${v.id}/credentials/${c.id}`)).status).toBe(204);
    const gone = await t.api('DELETE', `/vaults/${v.id}/credentials/${c.id}`);
    expect([gone.status, gone.json.error.code]).toEqual([404, 'credential_not_found']);
    expect(t.vg.snapshot.current.credentialsByUsername.has(c.username)).toBe(false);

    const audit = await t.api('GET', `/audit-events?vault_id=${v.id}`);
    expect(audit.json.data.map((e: { action: string }) => e.action)).toEqual([
      'credential.deleted',
      'credential.updated',
      'credential.created',
      'vault.created',
    ]);
    expect(audit.text).not.toContain(c.password);
  });
});

describe('openapi', () => {
  it('describes every endpoint', async () => {
    const doc = (await t.api('GET', '/openapi.json')).json;
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/api/v1/vaults',
        '/api/v1/vaults/{vault_id}/credentials/{id}',
        '/api/v1/vaults/{vault_id}/routes',
      ]),
    );
    expect(
      doc.paths['/api/v1/vaults'].post.requestBody.content['application/json'].schema.additionalProperties,
    ).toBe(false);
  });

  it('is OpenAPI 3.1 with a unique operationId per operation and the query parameters of paged lists', async () => {
    const doc = (await t.api('GET', '/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    const ids: string[] = [];
    for (const item of Object.values(doc.paths) as Record<string, { operationId?: string }>[]) {
      for (const op of Object.values(item)) ids.push(op.operationId ?? '');
    }
    expect(
      ids.every((id) => /^[a-z][A-Za-z0-9]+$/.test(id)),
      ids.join(' '),
    ).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(['listCertificates', 'getHostname', 'createVault', 'updateVault']),
    );
    const list = doc.paths['/api/v1/vaults/{vault_id}/certificates'].get;
    expect(list.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual(
      expect.arrayContaining(['path:vault_id', 'query:status', 'query:limit', 'query:cursor']),
    );
    expect(list.responses['200'].content['application/json'].schema.required).toEqual([
      'data',
      'next_cursor',
    ]);
  });

  it('declares both ways in and, per status, the error codes an operation can answer with', async () => {
    const doc = (await t.api('GET', '/openapi.json')).json;
    expect(Object.keys(doc.components.securitySchemes).sort()).toEqual(['bearer', 'session']);
    expect(doc.components.securitySchemes.session).toMatchObject({ in: 'cookie', name: 'vaultgate_session' });
    const del = doc.paths['/api/v1/vaults/{vault_id}/credentials/{id}'].delete;
    const codes = (status: string) =>
      del.responses[status].content['application/json'].schema.properties.error.properties.code.enum;
    expect(codes('404').sort()).toEqual(['credential_not_found', 'vault_not_found']);
    expect(codes('409')).toEqual(['credential_in_use']);
    expect(codes('401')).toEqual(['unauthorized']);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
  });
});
