/**
 * API tokens (issue 17, SPEC §2 "API tokens and roles", "Audit"): shown once and stored as a keyed
 * hash; a deleted or expired token stops at once, for bearer calls and for the dashboard sessions
 * signed in with it; the admin token of the settings is the admin token "bootstrap", follows the
 * setting across restarts and stays deleted once deleted; the audit trail names the token and the
 * address of every change, sign-in and failed sign-in, and filters by actor.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

let t: TestVaultgate;

interface Created {
  id: string;
  token: string;
}

async function createToken(
  name: string,
  role: string,
  extra: Record<string, unknown> = {},
): Promise<Created> {
  const res = await t.api('POST', '/api-tokens', { name, role, ...extra });
  expect(res.status, res.text).toBe(201);
  return res.json.data as Created;
}

function bearer(token: string, method = 'GET', path = '/vaults', body?: unknown): Promise<Response> {
  return fetch(`${t.adminUrl}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function signIn(token: string): Promise<{ cookie: string; csrf: string }> {
  const res = await fetch(`${t.adminUrl}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
  });
  expect(res.status).toBe(201);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  return { cookie, csrf: ((await res.json()) as { data: { csrf_token: string } }).data.csrf_token };
}

const withSession = (cookie: string, path = '/session'): Promise<Response> =>
  fetch(`${t.adminUrl}/api/v1${path}`, { headers: { cookie } });

beforeAll(async () => {
  t = await startTestVaultgate();
});
afterAll(async () => {
  await t?.stop();
});

describe('API tokens', () => {
  it('shows a token once, lists only its metadata, and stores a keyed hash of it', async () => {
    const made = await createToken('ci-deploy', 'operator', { expires_at: '2099-06-30T00:00:00Z' });
    expect(made.token).toMatch(/^vgt_[A-Za-z0-9_-]{43}$/);
    const listed = await t.api('GET', '/api-tokens');
    expect(listed.text).not.toContain(made.token);
    expect(listed.json.data.find((x: { id: string }) => x.id === made.id)).toEqual({
      id: made.id,
      name: 'ci-deploy',
      role: 'operator',
      created_at: expect.any(String),
      expires_at: '2099-06-30T00:00:00.000Z',
      last_used_at: null,
    });
    // Neither the token nor an unkeyed hash of it is in the database file.
    const db = readFileSync(join(t.dataDir, 'vaultgate.db'));
    expect(db.includes(made.token)).toBe(false);
    const { createHash } = await import('node:crypto');
    expect(db.includes(createHash('sha256').update(made.token).digest('hex'))).toBe(false);
    // It works, as what it is.
    const me = await bearer(made.token, 'GET', '/session');
    expect(((await me.json()) as { data: unknown }).data).toEqual({
      csrf_token: null,
      token: { id: made.id, name: 'ci-deploy', role: 'operator' },
    });
  });

  it('refuses a duplicate name, a past expiry and an unknown role, creating nothing', async () => {
    await createToken('unique-name', 'viewer');
    const before = (await t.api('GET', '/api-tokens')).json.data.length as number;
    const dup = await t.api('POST', '/api-tokens', { name: 'unique-name', role: 'admin' });
    expect([dup.status, dup.json.error.code, dup.json.error.field]).toEqual([422, 'invalid_field', 'name']);
    const past = await t.api('POST', '/api-tokens', {
      name: 'past',
      role: 'viewer',
      expires_at: '2020-01-01T00:00:00Z',
    });
    expect([past.status, past.json.error.field]).toEqual([422, 'expires_at']);
    const role = await t.api('POST', '/api-tokens', { name: 'root', role: 'root' });
    expect(role.status).toBe(422);
    expect((await t.api('GET', '/api-tokens')).json.data).toHaveLength(before);
  });

  it('records when a token was last used', async () => {
    const made = await createToken('scraper', 'viewer');
    expect((await bearer(made.token, 'GET', '/vaults')).status).toBe(200);
    // The metrics scrape works with a viewer token too (SPEC §2).
    const metrics = await fetch(`${t.adminUrl}/metrics`, {
      headers: { authorization: `Bearer ${made.token}` },
    });
    expect(metrics.status).toBe(200);
    // Written off the request path: the next reads see it once that write committed.
    await expect
      .poll(async () => (await t.api('GET', `/api-tokens/${made.id}`)).json.data.last_used_at)
      .toEqual(expect.any(String));
  });

  it('stops a deleted token at once, for bearer calls and for the dashboard sessions signed in with it', async () => {
    const made = await createToken('short-lived', 'admin');
    const session = await signIn(made.token);
    expect((await withSession(session.cookie)).status).toBe(200);
    expect((await bearer(made.token)).status).toBe(200);
    expect((await t.api('DELETE', `/api-tokens/${made.id}`)).status).toBe(204);
    expect((await bearer(made.token)).status).toBe(401);
    expect((await withSession(session.cookie)).status).toBe(401);
    expect((await withSession(session.cookie, '/vaults')).status).toBe(401);
    const again = await t.api('DELETE', `/api-tokens/${made.id}`);
    expect([again.status, again.json.error.code]).toEqual([404, 'api_token_not_found']);
  });

  it('stops an expired token, and its sessions, at once', async () => {
    const made = await createToken('expiring', 'operator', { expires_at: '2099-01-01T00:00:00Z' });
    const session = await signIn(made.token);
    expect((await bearer(made.token)).status).toBe(200);
    // Time passes: the row's expiry moves into the past (no clock to wait for).
    const db = new Database(join(t.dataDir, 'vaultgate.db'));
    db.prepare('UPDATE api_tokens SET expires_at = ? WHERE id = ?').run('2020-01-01T00:00:00.000Z', made.id);
    db.close();
    expect((await bearer(made.token)).status).toBe(401);
    expect((await withSession(session.cookie)).status).toBe(401);
    const signInAgain = await fetch(`${t.adminUrl}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: made.token }),
    });
    expect(signInAgain.status).toBe(401);
  });
});

describe('the audit trail', () => {
  it('names the token and the address of every change, sign-in, failed sign-in and token change', async () => {
    const made = await createToken('auditor-op', 'operator');
    const vault = (await t.api('POST', '/vaults', { name: 'Audited' })).json.data.id as string;
    const credential = await bearer(made.token, 'POST', `/vaults/${vault}/credentials`, {});
    expect(credential.status).toBe(201);
    const { cookie, csrf } = await signIn(made.token);
    const viaDashboard = await fetch(`${t.adminUrl}/api/v1/vaults/${vault}/routes`, {
      method: 'POST',
      headers: { cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ destination_override_endpoint: '*' }),
    });
    expect(viaDashboard.status).toBe(201);
    await fetch(`${t.adminUrl}/api/v1/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ token: 'vgt_wrong' }),
    });

    const mine = (await t.api('GET', '/audit-events?actor=token:auditor-op')).json.data;
    expect(mine.map((e: { action: string }) => e.action)).toEqual(['credential.created']);
    expect(mine[0]).toMatchObject({
      actor: 'token:auditor-op',
      client_address: '127.0.0.1',
      vault_id: vault,
    });
    const dashboard = (await t.api('GET', '/audit-events?actor=dashboard:auditor-op')).json.data;
    expect(dashboard.map((e: { action: string }) => e.action)).toEqual([
      'route.created',
      'session.signed_in',
    ]);
    expect(dashboard.every((e: { client_address: string }) => e.client_address === '127.0.0.1')).toBe(true);
    const failed = (await t.api('GET', '/audit-events?action=session.sign_in_failed')).json.data;
    expect(failed[0]).toMatchObject({ actor: 'anonymous', client_address: '127.0.0.1' });
    const tokenEvents = (await t.api('GET', `/audit-events?actor=token:bootstrap&action=api_token.created`))
      .json.data;
    expect(tokenEvents.map((e: { target_id: string }) => e.target_id)).toContain(made.id);
    expect((await t.api('GET', '/audit-events?vault_id=' + vault)).json.data[0].actor).toBe(
      'dashboard:auditor-op',
    );
    // Never a secret in the trail.
    const all = (await t.api('GET', '/audit-events?limit=1000')).text;
    expect(all).not.toContain(made.token);
    expect(all).not.toContain('vgt_wrong');
  });
});

describe('the bootstrap token', () => {
  let dataDir: string;
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const start = (adminToken: string): Promise<TestVaultgate> =>
    startTestVaultgate({ VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMIN_TOKEN: adminToken });
  const status = async (vg: TestVaultgate, token: string): Promise<number> =>
    (await fetch(`${vg.adminUrl}/api/v1/vaults`, { headers: { authorization: `Bearer ${token}` } })).status;

  it('is the admin token of the settings, follows it across restarts, and stays deleted once deleted', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'vaultgate-bootstrap-'));
    const first = 'vgadm_first-admin-token-0123456789abcdef';
    const second = 'vgadm_second-admin-token-0123456789abcdef';
    let vg = await start(first);
    const listed = (await vg.api('GET', '/api-tokens')).json.data;
    expect(listed).toEqual([expect.objectContaining({ name: 'bootstrap', role: 'admin', expires_at: null })]);
    const id = listed[0].id as string;
    const cookie = (
      await fetch(`${vg.adminUrl}/api/v1/session`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: first }),
      })
    ).headers
      .get('set-cookie')
      ?.split(';')[0] as string;
    await vg.stop();

    // The admin token changed (the runbook's rotation): the same token row, the new value, old sessions end.
    vg = await start(second);
    expect(await status(vg, first)).toBe(401);
    expect(await status(vg, second)).toBe(200);
    expect((await vg.api('GET', '/api-tokens')).json.data.map((x: { id: string }) => x.id)).toEqual([id]);
    expect((await fetch(`${vg.adminUrl}/api/v1/session`, { headers: { cookie } })).status).toBe(401);
    // An admin retires it, after making a token of their own.
    const own = (await vg.api('POST', '/api-tokens', { name: 'alice', role: 'admin' })).json.data
      .token as string;
    expect((await vg.api('DELETE', `/api-tokens/${id}`)).status).toBe(204);
    expect(await status(vg, second)).toBe(401);
    await vg.stop();

    // Restarted with the same setting, it stays deleted.
    vg = await start(second);
    expect(await status(vg, second)).toBe(401);
    expect(await status(vg, own)).toBe(200);
    await vg.stop();

    // A database from before API tokens (no token rows): the admin token becomes "bootstrap" again,
    // as does a new admin token after a retirement (the way back in for whoever holds the host).
    const db = new Database(join(dataDir, 'vaultgate.db'));
    db.prepare("DELETE FROM api_tokens WHERE name <> 'alice'").run();
    db.close();
    vg = await start('vgadm_third-admin-token-0123456789abcdef');
    expect(await status(vg, 'vgadm_third-admin-token-0123456789abcdef')).toBe(200);
    const names = (await vg.api('GET', '/api-tokens')).json.data.map((x: { name: string }) => x.name);
    expect(names.sort()).toEqual(['alice', 'bootstrap']);
    await vg.stop();
  });
});
