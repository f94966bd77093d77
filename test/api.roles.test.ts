/**
 * The role matrix (issue 17, SPEC §2 "API tokens and roles"): one table in docs/security.md says the
 * least role of every endpoint. The first test checks that table against the router (the served
 * OpenAPI document carries each endpoint's role as `x-vaultgate-role`), so a new endpoint cannot be
 * left out of it. The second calls every endpoint of the table with a viewer, an operator and an
 * admin token: each call the table allows must succeed (2xx), each it does not must answer
 * 403 forbidden and change nothing (no audit event). Every endpoint needs a recipe below — a call
 * that succeeds, with the fixtures it needs made by the admin token first — or the test fails.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainPem, makeCa, makeLeaf, signCsr } from './helpers/pki-fixtures.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

type Role = 'viewer' | 'operator' | 'admin';
const ROLES: readonly Role[] = ['viewer', 'operator', 'admin'];
const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

interface Call {
  /** Under /api/v1 unless `root`. */
  path: string;
  root?: boolean;
  body?: unknown;
}
/** Makes what the call needs (with the admin token), then says which call to make. */
type Recipe = () => Promise<Call>;

let t: TestVaultgate;
const tokens = {} as Record<Role, string>;
let vaultId: string;
let credentialId: string;
let routeId: string;
const issuer = makeCa({ cn: 'Roles Issuing CA' });
const callerCa = makeCa({ cn: 'Roles Caller CA' });

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API answers, read where their shape is known
async function admin(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
  const res = await t.api(method, path, body);
  if (res.status >= 300)
    throw new Error(`fixture ${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
  return res;
}
const created = async (path: string, body: unknown): Promise<string> =>
  (await admin('POST', path, body)).json.data.id as string;

let seq = 0;
const unique = (prefix: string): string => `${prefix}-${process.pid}-${++seq}`;

function certificateBody(): Record<string, unknown> {
  const leaf = makeLeaf({ issuer, cn: `${unique('client')}.roles.example` });
  return {
    proxy_type: 'outbound',
    credential_id: credentialId,
    certificate: chainPem(leaf),
    private_key: leaf.keyPem,
    hosts: ['api.visa.example'],
  };
}

function hostnameBody(): Record<string, unknown> {
  const name = `${unique('callbacks')}.roles.example`;
  const server = makeLeaf({ issuer, cn: name, eku: ['serverAuth'], sans: [`DNS:${name}`] });
  return { hostname: name, certificate: chainPem(server), private_key: server.keyPem };
}

const certificateRequestBody = () => ({
  proxy_type: 'outbound',
  credential_id: credentialId,
  subject: { common_name: `${unique('csr')}.roles.example` },
  key_type: 'ec',
});

const v = () => `/vaults/${vaultId}`;

/** Keyed by "METHOD /path" as the table writes them. */
const RECIPES: Record<string, Recipe> = {
  'GET /metrics': async () => ({ path: '/metrics', root: true }),
  'GET /api/v1/metrics': async () => ({ path: '/metrics' }),
  'GET /api/v1/info': async () => ({ path: '/info' }),
  'GET /api/v1/local-ca': async () => ({ path: '/local-ca' }),
  'GET /api/v1/audit-events': async () => ({ path: '/audit-events?actor=token:bootstrap' }),
  'GET /api/v1/session': async () => ({ path: '/session' }),
  'GET /api/v1/openapi.json': async () => ({ path: '/openapi.json' }),

  'POST /api/v1/vaults': async () => ({ path: '/vaults', body: { name: unique('vault') } }),
  'GET /api/v1/vaults': async () => ({ path: '/vaults' }),
  'GET /api/v1/vaults/{vault_id}': async () => ({ path: v() }),
  // The operator's part of PATCH: caller mTLS. (Renaming is the admin's: tested below.)
  'PATCH /api/v1/vaults/{vault_id}': async () => ({
    path: v(),
    body: { inbound_client_auth: { mode: 'optional', ca_pem: callerCa.certPem } },
  }),
  'DELETE /api/v1/vaults/{vault_id}': async () => ({
    path: `/vaults/${await created('/vaults', { name: unique('doomed') })}`,
  }),
  'GET /api/v1/vaults/{vault_id}/outbound-ca': async () => ({ path: `${v()}/outbound-ca` }),

  'POST /api/v1/vaults/{vault_id}/hostnames': async () => ({
    path: `${v()}/hostnames`,
    body: hostnameBody(),
  }),
  'GET /api/v1/vaults/{vault_id}/hostnames': async () => ({ path: `${v()}/hostnames` }),
  'GET /api/v1/vaults/{vault_id}/hostnames/{id}': async () => ({
    path: `${v()}/hostnames/${await created(`${v()}/hostnames`, hostnameBody())}`,
  }),
  'PUT /api/v1/vaults/{vault_id}/hostnames/{id}': async () => {
    const body = hostnameBody();
    const id = await created(`${v()}/hostnames`, body);
    return {
      path: `${v()}/hostnames/${id}`,
      body: { certificate: body.certificate, private_key: body.private_key },
    };
  },
  'DELETE /api/v1/vaults/{vault_id}/hostnames/{id}': async () => ({
    path: `${v()}/hostnames/${await created(`${v()}/hostnames`, hostnameBody())}`,
  }),

  'POST /api/v1/vaults/{vault_id}/credentials': async () => ({ path: `${v()}/credentials`, body: {} }),
  'GET /api/v1/vaults/{vault_id}/credentials': async () => ({ path: `${v()}/credentials` }),
  'GET /api/v1/vaults/{vault_id}/credentials/{id}': async () => ({
    path: `${v()}/credentials/${credentialId}`,
  }),
  'PATCH /api/v1/vaults/{vault_id}/credentials/{id}': async () => ({
    path: `${v()}/credentials/${await created(`${v()}/credentials`, {})}`,
    body: { description: 'edited' },
  }),
  'DELETE /api/v1/vaults/{vault_id}/credentials/{id}': async () => ({
    path: `${v()}/credentials/${await created(`${v()}/credentials`, {})}`,
  }),

  'POST /api/v1/vaults/{vault_id}/routes': async () => ({
    path: `${v()}/routes`,
    body: { destination_override_endpoint: 'https://api.customer.example:443' },
  }),
  'GET /api/v1/vaults/{vault_id}/routes': async () => ({ path: `${v()}/routes` }),
  'GET /api/v1/vaults/{vault_id}/routes/{id}': async () => ({ path: `${v()}/routes/${routeId}` }),
  'PUT /api/v1/vaults/{vault_id}/routes/{id}': async () => ({
    path: `${v()}/routes/${await created(`${v()}/routes`, { destination_override_endpoint: '*' })}`,
    body: { destination_override_endpoint: '*', host_endpoint: 'api\\.visa\\.example' },
  }),
  'DELETE /api/v1/vaults/{vault_id}/routes/{id}': async () => ({
    path: `${v()}/routes/${await created(`${v()}/routes`, { destination_override_endpoint: '*' })}`,
  }),

  'POST /api/v1/vaults/{vault_id}/certificates': async () => ({
    path: `${v()}/certificates`,
    body: certificateBody(),
  }),
  'GET /api/v1/vaults/{vault_id}/certificates': async () => ({ path: `${v()}/certificates` }),
  'GET /api/v1/vaults/{vault_id}/certificates/{id}': async () => ({
    path: `${v()}/certificates/${await created(`${v()}/certificates`, certificateBody())}`,
  }),
  'PATCH /api/v1/vaults/{vault_id}/certificates/{id}': async () => ({
    path: `${v()}/certificates/${await created(`${v()}/certificates`, certificateBody())}`,
    body: { description: 'edited' },
  }),
  'DELETE /api/v1/vaults/{vault_id}/certificates/{id}': async () => ({
    path: `${v()}/certificates/${await created(`${v()}/certificates`, certificateBody())}`,
  }),

  'POST /api/v1/webhooks': async () => ({
    path: '/webhooks',
    body: { url: 'http://127.0.0.1:9/hooks', events: ['certificate.created'] },
  }),
  'GET /api/v1/webhooks': async () => ({ path: '/webhooks' }),
  'GET /api/v1/webhooks/{webhook_id}': async () => ({
    path: `/webhooks/${await created('/webhooks', { url: 'http://127.0.0.1:9/', events: ['certificate.created'] })}`,
  }),
  'DELETE /api/v1/webhooks/{webhook_id}': async () => ({
    path: `/webhooks/${await created('/webhooks', { url: 'http://127.0.0.1:9/', events: ['certificate.created'] })}`,
  }),
  'GET /api/v1/webhooks/{webhook_id}/deliveries': async () => ({
    path: `/webhooks/${await created('/webhooks', { url: 'http://127.0.0.1:9/', events: ['certificate.created'] })}/deliveries`,
  }),

  'POST /api/v1/vaults/{vault_id}/certificate-requests': async () => ({
    path: `${v()}/certificate-requests`,
    body: certificateRequestBody(),
  }),
  'GET /api/v1/vaults/{vault_id}/certificate-requests': async () => ({ path: `${v()}/certificate-requests` }),
  'GET /api/v1/vaults/{vault_id}/certificate-requests/{id}': async () => ({
    path: `${v()}/certificate-requests/${await created(`${v()}/certificate-requests`, certificateRequestBody())}`,
  }),
  'DELETE /api/v1/vaults/{vault_id}/certificate-requests/{id}': async () => ({
    path: `${v()}/certificate-requests/${await created(`${v()}/certificate-requests`, certificateRequestBody())}`,
  }),
  'POST /api/v1/vaults/{vault_id}/certificate-requests/{id}/certificate': async () => {
    const request = (await admin('POST', `${v()}/certificate-requests`, certificateRequestBody())).json.data;
    return {
      path: `${v()}/certificate-requests/${request.id}/certificate`,
      body: { certificate: signCsr(request.csr_pem, issuer) + issuer.certPem },
    };
  },

  'POST /api/v1/api-tokens': async () => ({
    path: '/api-tokens',
    body: { name: unique('made'), role: 'viewer' },
  }),
  'GET /api/v1/api-tokens': async () => ({ path: '/api-tokens' }),
  'GET /api/v1/api-tokens/{token_id}': async () => ({
    path: `/api-tokens/${await created('/api-tokens', { name: unique('read'), role: 'viewer' })}`,
  }),
  'DELETE /api/v1/api-tokens/{token_id}': async () => ({
    path: `/api-tokens/${await created('/api-tokens', { name: unique('gone'), role: 'viewer' })}`,
  }),
};

interface Row {
  method: string;
  path: string;
  role: Role | 'public';
}

/** The table between the role-table markers of docs/security.md. */
function documentedRows(): Row[] {
  const doc = readFileSync(new URL('../docs/security.md', import.meta.url), 'utf8');
  const block = /<!-- role-table:start -->([\s\S]*?)<!-- role-table:end -->/.exec(doc)?.[1] ?? '';
  return block
    .split('\n')
    .map((line) => /^\|\s*`(GET|POST|PUT|PATCH|DELETE)`\s*\|\s*`([^`]+)`\s*\|\s*(\w+)\s*\|/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ method: m[1] as string, path: m[2] as string, role: m[3] as Row['role'] }));
}

/** The rows as table lines (unpadded: prettier pads the columns of the document's table). */
function tableOf(rows: readonly Row[]): string[] {
  return rows.map((r) => `| \`${r.method}\` | \`${r.path}\` | ${r.role} |`);
}

async function callAs(role: Role, method: string, call: Call): Promise<{ status: number; text: string }> {
  const url = call.path.startsWith('/metrics')
    ? `${t.adminUrl}${call.path}`
    : `${t.adminUrl}/api/v1${call.path}`;
  const res = await fetch(url, {
    method,
    headers: {
      authorization: `Bearer ${tokens[role]}`,
      ...(call.body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: call.body === undefined ? undefined : JSON.stringify(call.body),
  });
  return { status: res.status, text: await res.text() };
}

async function newestAuditEvent(): Promise<string | undefined> {
  return (await admin('GET', '/audit-events?limit=1')).json.data[0]?.id as string | undefined;
}

beforeAll(async () => {
  t = await startTestVaultgate();
  for (const role of ROLES) {
    tokens[role] = (await admin('POST', '/api-tokens', { name: `matrix-${role}`, role })).json.data
      .token as string;
  }
  vaultId = await created('/vaults', { name: 'Roles' });
  credentialId = await created(`${v()}/credentials`, {});
  routeId = await created(`${v()}/routes`, {
    destination_override_endpoint: 'https://api.customer.example:443',
  });
});
afterAll(async () => {
  await t?.stop();
});

describe('the role table in docs/security.md', () => {
  it('lists every endpoint of the router with the role it declares', async () => {
    const doc = (await t.api('GET', '/openapi.json')).json as {
      paths: Record<string, Record<string, { 'x-vaultgate-role'?: Role }>>;
    };
    const fromRouter: Row[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item))
        fromRouter.push({ method: method.toUpperCase(), path, role: op['x-vaultgate-role'] ?? 'public' });
    }
    // On failure, the expected side is the table to paste between the markers.
    expect(tableOf(documentedRows())).toEqual(tableOf(fromRouter));
  });
});

describe('every endpoint with every role', () => {
  it('has a recipe for every endpoint of the table', () => {
    const rows = documentedRows().filter((r) => r.role !== 'public');
    expect(rows.length).toBeGreaterThan(40);
    expect(rows.map((r) => `${r.method} ${r.path}`).filter((key) => !RECIPES[key])).toEqual([]);
  });

  for (const role of ROLES) {
    it(`as ${role}: 2xx where the table allows it, 403 forbidden (and no change) where it does not`, async () => {
      const wrong: string[] = [];
      for (const row of documentedRows()) {
        if (row.role === 'public') continue;
        const recipe = RECIPES[`${row.method} ${row.path}`];
        if (!recipe) continue; // reported by the test above
        const call = await recipe();
        const allowed = RANK[role] >= RANK[row.role];
        const before = allowed ? undefined : await newestAuditEvent();
        const answer = await callAs(role, row.method, call);
        const ok = allowed
          ? answer.status >= 200 && answer.status < 300
          : answer.status === 403 && JSON.parse(answer.text).error.code === 'forbidden';
        if (!ok)
          wrong.push(`${row.method} ${row.path} as ${role}: ${answer.status} ${answer.text.slice(0, 200)}`);
        if (!allowed && (await newestAuditEvent()) !== before)
          wrong.push(`${row.method} ${row.path} as ${role}: the refused call wrote an audit event`);
      }
      expect(wrong).toEqual([]);
    });
  }
});

describe('the finer rules', () => {
  it('lets an operator set caller mTLS on a vault but not rename it, and says which role renaming needs', async () => {
    const answer = await callAs('operator', 'PATCH', { path: v(), body: { name: 'Renamed' } });
    expect(answer.status).toBe(403);
    expect(JSON.parse(answer.text).error).toMatchObject({ code: 'forbidden' });
    expect(JSON.parse(answer.text).error.message).toMatch(
      /admin role.*"matrix-operator" is an operator token/,
    );
    expect((await admin('GET', v())).json.data.name).toBe('Roles');
    expect((await callAs('admin', 'PATCH', { path: v(), body: { name: 'Renamed' } })).status).toBe(200);
  });

  it('answers 401 before 403: a wrong token learns nothing about roles', async () => {
    const res = await fetch(`${t.adminUrl}/api/v1/vaults`, {
      method: 'POST',
      headers: { authorization: 'Bearer vgt_not-a-token', 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    expect(res.status).toBe(401);
  });
});
