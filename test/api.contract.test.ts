/**
 * The contract between /openapi.json and what the server really answers (issue 15, SPEC §2): every
 * operation of the document is called on a real vaultgate, for its success and for typical errors,
 * and each answer's status, media type and body are checked against what the document declares for
 * that operation and status. Response schemas are closed (additionalProperties: false), so a field a
 * handler adds without declaring it, or a required one it leaves out, fails here. The last test fails
 * for every operation not exercised, so a new endpoint cannot be left out of this file.
 */
import SwaggerParser from '@apidevtools/swagger-parser';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chainPem, makeCa, makeLeaf, signCsr, type Issued } from './helpers/pki-fixtures.js';
import { startTestVaultgate, type TestVaultgate } from './helpers/vaultgate.js';

// ajv-formats is CommonJS: its default export arrives wrapped under NodeNext.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

interface MediaType {
  schema?: Record<string, unknown>;
}
interface Operation {
  id: string;
  method: string;
  path: string;
  responses: Record<string, { content?: Record<string, MediaType> }>;
}

interface Answer {
  status: number;
  text: string;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- read after checking it against the schema
  json: any;
}

interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Send no Authorization header. */
  anonymous?: boolean;
}

let t: TestVaultgate;
const operations = new Map<string, Operation>();
/** The statuses each operation was seen answering with. */
const seen = new Map<string, Set<number>>();
const ajv = addFormats(new Ajv2020({ strict: true, allErrors: true, allowUnionTypes: true }));
const validators = new Map<string, ValidateFunction>();

beforeAll(async () => {
  t = await startTestVaultgate();
  const served = (await t.api('GET', '/openapi.json')).json as Parameters<
    typeof SwaggerParser.dereference
  >[0];
  const doc = (await SwaggerParser.dereference(served)) as unknown as {
    paths: Record<
      string,
      Record<string, Omit<Operation, 'id' | 'method' | 'path'> & { operationId: string }>
    >;
  };
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      operations.set(op.operationId, {
        id: op.operationId,
        method: method.toUpperCase(),
        path,
        responses: op.responses,
      });
    }
  }
});
afterAll(async () => {
  await t?.stop();
});

function validatorFor(op: Operation, status: number, media: string, schema: Record<string, unknown>) {
  const key = `${op.id} ${status} ${media}`;
  let fn = validators.get(key);
  if (!fn) {
    fn = ajv.compile(schema);
    validators.set(key, fn);
  }
  return fn;
}

/** Checks one real answer against the document; throws naming what does not match. */
function checkAnswer(op: Operation, answer: Answer): void {
  const declared = op.responses[String(answer.status)];
  if (!declared) {
    throw new Error(
      `${op.id} answered ${answer.status}, a status the document does not declare for it: ${answer.text.slice(0, 300)}`,
    );
  }
  if (!declared.content) {
    expect(answer.text, `${op.id} ${answer.status} declares no body`).toBe('');
    return;
  }
  const media = (answer.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const entry = declared.content[media];
  if (!entry?.schema) {
    throw new Error(
      `${op.id} ${answer.status} answered ${media}; the document declares ${Object.keys(declared.content).join(', ')}`,
    );
  }
  const body: unknown = media === 'application/json' ? JSON.parse(answer.text) : answer.text;
  const validate = validatorFor(op, answer.status, media, entry.schema);
  if (!validate(body)) {
    throw new Error(
      `${op.id} ${answer.status} does not match its schema: ${ajv.errorsText(validate.errors)}\n${answer.text.slice(0, 500)}`,
    );
  }
}

/** Calls an operation of the document by its operationId, and checks the answer against it. */
async function call(id: string, options: CallOptions = {}): Promise<Answer> {
  const op = operations.get(id);
  if (!op) throw new Error(`the document has no operation ${id}`);
  const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = options.params?.[name];
    if (value === undefined) throw new Error(`${id} needs the path parameter ${name}`);
    return encodeURIComponent(value);
  });
  const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : '';
  const res = await fetch(`${t.adminUrl}${path}${query}`, {
    method: op.method,
    headers: {
      ...(options.anonymous ? {} : { authorization: `Bearer ${t.token}` }),
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...options.headers,
    },
    body:
      options.body === undefined
        ? undefined
        : typeof options.body === 'string'
          ? options.body
          : JSON.stringify(options.body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  const answer = { status: res.status, text, headers: res.headers, json };
  checkAnswer(op, answer);
  const statuses = seen.get(id) ?? new Set<number>();
  statuses.add(res.status);
  seen.set(id, statuses);
  return answer;
}

/** Calls and expects a status (the answer is checked against the document either way). */
async function expectStatus(status: number, id: string, options: CallOptions = {}): Promise<Answer> {
  const answer = await call(id, options);
  expect(answer.status, `${id}: ${answer.text.slice(0, 300)}`).toBe(status);
  return answer;
}

const expectError = async (status: number, code: string, id: string, options: CallOptions = {}) => {
  const answer = await expectStatus(status, id, options);
  expect(answer.json.error.code).toBe(code);
  return answer;
};

const bogusQuery = { query: { bogus: '1' } };

describe('the contract checker', () => {
  it('refuses an answer with an undeclared field, a missing required one or an undeclared status', async () => {
    const vault = (await expectStatus(201, 'createVault', { body: { name: 'checker' } })).json.data;
    const op = operations.get('getVault') as Operation;
    const answer = await expectStatus(200, 'getVault', { params: { vault_id: vault.id } });
    const variant = (data: unknown, status = 200): Answer => ({
      ...answer,
      status,
      text: JSON.stringify({ data }),
    });
    expect(() => checkAnswer(op, variant({ ...answer.json.data, private_key: 'x' }))).toThrow(
      /must NOT have additional properties/,
    );
    const { id: _id, ...withoutId } = answer.json.data;
    expect(() => checkAnswer(op, variant(withoutId))).toThrow(/must have required property 'id'/);
    expect(() => checkAnswer(op, variant(answer.json.data, 418))).toThrow(/does not declare/);
    const error = await expectError(404, 'vault_not_found', 'getVault', {
      params: { vault_id: 'tntzzzzzzzz' },
    });
    const wrongCode = {
      ...error,
      text: JSON.stringify({ error: { ...error.json.error, code: 'route_not_found' } }),
    };
    expect(() => checkAnswer(op, wrongCode)).toThrow(/allowed values/);
  });
});

describe('system endpoints', () => {
  it('health, readiness, metrics, info, the local CA and this document', async () => {
    for (const id of ['getHealthzAtRoot', 'getHealthz', 'getReadyzAtRoot', 'getReadyz']) {
      await expectStatus(200, id, { anonymous: true });
      await expectError(400, 'unknown_parameter', id, { anonymous: true, ...bogusQuery });
    }
    for (const id of ['getMetricsAtRoot', 'getMetrics', 'getInfo', 'getLocalCa', 'getOpenapi']) {
      await expectStatus(200, id);
      await expectError(401, 'unauthorized', id, { anonymous: true });
      await expectError(400, 'unknown_parameter', id, bogusQuery);
    }
  });

  it('audit events, paged', async () => {
    await expectStatus(201, 'createVault', { body: { name: 'audited' } });
    const first = await expectStatus(200, 'listAuditEvents', { query: { limit: '1' } });
    expect(first.json.next_cursor).toEqual(expect.any(String));
    await expectStatus(200, 'listAuditEvents', {
      query: { cursor: first.json.next_cursor, action: 'vault.created' },
    });
    await expectError(400, 'invalid_parameter', 'listAuditEvents', { query: { since: 'yesterday' } });
    await expectError(400, 'invalid_parameter', 'listAuditEvents', { query: { cursor: 'nope' } });
  });
});

describe('dashboard session', () => {
  it('signs in, reads the CSRF token and signs out', async () => {
    await expectError(401, 'unauthorized', 'createSession', { anonymous: true, body: { token: 'wrong' } });
    await expectError(400, 'unknown_field', 'createSession', {
      anonymous: true,
      body: { token: t.token, x: 1 },
    });
    await expectError(400, 'invalid_json', 'createSession', { anonymous: true, body: '{"token":' });
    const signedIn = await expectStatus(201, 'createSession', { anonymous: true, body: { token: t.token } });
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
    const session = await expectStatus(200, 'getSession', { anonymous: true, headers: { cookie } });
    expect(session.json.data.csrf_token).toBe(signedIn.json.data.csrf_token);
    expect((await expectStatus(200, 'getSession')).json.data.csrf_token).toBeNull();
    await expectError(401, 'unauthorized', 'getSession', { anonymous: true });
    await expectStatus(204, 'deleteSession', { anonymous: true, headers: { cookie } });
    await expectError(400, 'unknown_parameter', 'deleteSession', { anonymous: true, ...bogusQuery });
  });
});

describe('resources', () => {
  let vaultId: string;
  let credentialId: string;
  let inboundRouteId: string;
  let outboundRouteId: string;
  let callerCa: Issued;

  it('vaults', async () => {
    callerCa = makeCa({ cn: 'Contract Callers CA' });
    const created = await expectStatus(201, 'createVault', {
      body: { name: 'Contract', environment: 'live' },
    });
    vaultId = created.json.data.id;
    await expectError(400, 'unknown_field', 'createVault', { body: { name: 'x', colour: 'red' } });
    await expectError(422, 'invalid_field', 'createVault', { body: { environment: 'sandbox' } });
    await expectError(400, 'invalid_json', 'createVault', { body: '{' });
    const page = await expectStatus(200, 'listVaults', { query: { limit: '1' } });
    expect(page.json.next_cursor).toEqual(expect.any(String));
    await expectError(400, 'invalid_parameter', 'listVaults', { query: { limit: '0' } });
    await expectStatus(200, 'getVault', { params: { vault_id: vaultId } });
    const patched = await expectStatus(200, 'updateVault', {
      params: { vault_id: vaultId },
      body: { name: 'Contract 2', inbound_client_auth: { mode: 'required', ca_pem: callerCa.certPem } },
    });
    expect(patched.json.data.inbound_client_auth.ca_subjects).toHaveLength(1);
    await expectError(422, 'invalid_field', 'updateVault', {
      params: { vault_id: vaultId },
      body: { inbound_client_auth: { mode: 'required' } },
    });
    await expectError(404, 'vault_not_found', 'updateVault', {
      params: { vault_id: 'tnt00000000' },
      body: {},
    });
    const ca = await expectStatus(200, 'getOutboundCa', { params: { vault_id: vaultId } });
    expect(ca.text).toContain('BEGIN CERTIFICATE');
    await expectError(404, 'vault_not_found', 'getOutboundCa', { params: { vault_id: 'tnt00000000' } });
  });

  it('access credentials', async () => {
    const v = { vault_id: vaultId };
    const created = await expectStatus(201, 'createCredential', {
      params: v,
      body: { description: 'billing' },
    });
    credentialId = created.json.data.id;
    expect(created.json.data.password).toEqual(expect.any(String));
    await expectError(404, 'vault_not_found', 'createCredential', {
      params: { vault_id: 'tnt00000000' },
      body: {},
    });
    const list = await expectStatus(200, 'listCredentials', { params: v });
    expect(list.json.data[0]).not.toHaveProperty('password');
    await expectError(400, 'unknown_parameter', 'listCredentials', { params: v, ...bogusQuery });
    const one = { vault_id: vaultId, id: credentialId };
    await expectStatus(200, 'getCredential', { params: one });
    await expectError(404, 'credential_not_found', 'getCredential', { params: { ...one, id: 'nope' } });
    await expectStatus(200, 'updateCredential', { params: one, body: { status: 'inactive' } });
    await expectError(422, 'invalid_field', 'updateCredential', { params: one, body: { status: 'paused' } });
  });

  it('routes', async () => {
    const v = { vault_id: vaultId };
    const inbound = await expectStatus(201, 'createRoute', {
      params: v,
      body: { destination_override_endpoint: 'https://api.customer.example:443', tags: { name: 'api' } },
    });
    inboundRouteId = inbound.json.data.id;
    const outbound = await expectStatus(201, 'createRoute', {
      params: v,
      body: { destination_override_endpoint: '*', host_endpoint: 'api\\.visa\\.example' },
    });
    outboundRouteId = outbound.json.data.id;
    await expectError(422, 'unsupported_filter', 'createRoute', {
      params: v,
      body: { destination_override_endpoint: '*', entries: [{ operation: 'REDACT' }] },
    });
    await expectStatus(200, 'listRoutes', { params: v, query: { limit: '1' } });
    await expectError(400, 'invalid_parameter', 'listRoutes', { params: v, query: { cursor: 'x' } });
    const one = { vault_id: vaultId, id: outboundRouteId };
    await expectStatus(200, 'getRoute', { params: one });
    await expectError(404, 'route_not_found', 'getRoute', { params: { ...one, id: 'nope' } });
    await expectStatus(200, 'replaceRoute', {
      params: one,
      body: { destination_override_endpoint: '*', host_endpoint: 'api\\.mastercard\\.example', port: 443 },
    });
    await expectError(422, 'invalid_field', 'replaceRoute', { params: one, body: {} });
    const fresh = { vault_id: vaultId, id: '5e0c7a31-2b4d-4e6f-8a9b-0c1d2e3f4a5b' };
    await expectStatus(201, 'replaceRoute', { params: fresh, body: { destination_override_endpoint: '*' } });
    await expectStatus(204, 'deleteRoute', { params: fresh });
  });

  it('certificates', async () => {
    const v = { vault_id: vaultId };
    const issuer = makeCa({ cn: 'Contract Issuing CA' });
    const leaf = makeLeaf({ issuer, cn: 'contract.client.example', sans: ['DNS:contract.client.example'] });
    const rsa = makeLeaf({ issuer, cn: 'contract.rsa.example', keyType: 'rsa2048' });
    const outbound = await expectStatus(201, 'createCertificate', {
      params: v,
      body: {
        proxy_type: 'outbound',
        credential_id: credentialId,
        certificate: chainPem(leaf),
        private_key: leaf.keyPem,
        hosts: ['api.visa.example'],
      },
    });
    expect(outbound.json.data.curve).toBe('P-256');
    const inbound = await expectStatus(201, 'createCertificate', {
      params: v,
      body: {
        proxy_type: 'inbound',
        route_id: inboundRouteId,
        certificate: rsa.certPem,
        private_key: rsa.keyPem,
      },
    });
    expect(inbound.json.data.key_size).toBe(2048);
    await expectError(422, 'key_mismatch', 'createCertificate', {
      params: v,
      body: {
        proxy_type: 'outbound',
        credential_id: credentialId,
        certificate: leaf.certPem,
        private_key: rsa.keyPem,
      },
    });
    await expectError(422, 'invalid_association', 'createCertificate', {
      params: v,
      body: {
        proxy_type: 'inbound',
        route_id: outboundRouteId,
        certificate: rsa.certPem,
        private_key: rsa.keyPem,
      },
    });
    const list = await expectStatus(200, 'listCertificates', {
      params: v,
      query: { proxy_type: 'outbound', status: 'valid', limit: '10' },
    });
    expect(list.json.data).toHaveLength(1);
    await expectError(400, 'invalid_parameter', 'listCertificates', { params: v, query: { status: 'old' } });
    const one = { vault_id: vaultId, id: outbound.json.data.id as string };
    const detail = await expectStatus(200, 'getCertificate', { params: one });
    expect(detail.json.data.certificate_pem).toContain('BEGIN CERTIFICATE');
    await expectError(404, 'certificate_not_found', 'getCertificate', { params: { ...one, id: 'nope' } });
    const edited = await expectStatus(200, 'updateCertificate', {
      params: one,
      body: { description: 'Visa VDP (edited)', hosts: ['api.visa.example', 'sandbox.visa.example'] },
    });
    expect(edited.json.data.hosts).toEqual(['api.visa.example', 'sandbox.visa.example']);
    await expectError(422, 'invalid_field', 'updateCertificate', {
      params: { ...one, id: inbound.json.data.id as string },
      body: { hosts: ['api.visa.example'] },
    });
    await expectError(404, 'certificate_not_found', 'updateCertificate', {
      params: { ...one, id: 'nope' },
      body: { description: 'x' },
    });

    // Dependants block deletes: 409 first, then the certificates go and the deletes succeed.
    await expectError(409, 'credential_in_use', 'deleteCredential', {
      params: { vault_id: vaultId, id: credentialId },
    });
    await expectError(409, 'route_in_use', 'deleteRoute', {
      params: { vault_id: vaultId, id: inboundRouteId },
    });
    await expectError(409, 'vault_not_empty', 'deleteVault', { params: v });
    await expectStatus(204, 'deleteCertificate', { params: one });
    await expectError(404, 'certificate_not_found', 'deleteCertificate', { params: one });
    await expectStatus(204, 'deleteCertificate', { params: { ...one, id: inbound.json.data.id } });
    await expectStatus(204, 'deleteCredential', { params: { vault_id: vaultId, id: credentialId } });
    await expectError(404, 'credential_not_found', 'deleteCredential', {
      params: { vault_id: vaultId, id: credentialId },
    });
    await expectStatus(204, 'deleteRoute', { params: { vault_id: vaultId, id: inboundRouteId } });
    await expectError(404, 'route_not_found', 'deleteRoute', {
      params: { vault_id: vaultId, id: inboundRouteId },
    });
  });

  it('certificate requests', async () => {
    const v = { vault_id: vaultId };
    const credential = await expectStatus(201, 'createCredential', { params: v, body: {} });
    const body = {
      proxy_type: 'outbound',
      credential_id: credential.json.data.id,
      subject: { common_name: 'contract-csr.example', country: 'US' },
      sans: ['contract-csr.example'],
      key_type: 'ec',
      hosts: ['api.visa.example'],
    };
    const created = await expectStatus(201, 'createCertificateRequest', { params: v, body });
    expect(created.json.data).toMatchObject({ status: 'pending', curve: 'P-256' });
    const rsa = await expectStatus(201, 'createCertificateRequest', {
      params: v,
      body: { ...body, key_type: 'rsa', key_size: 3072 },
    });
    expect(rsa.json.data.key_size).toBe(3072);
    await expectError(422, 'invalid_field', 'createCertificateRequest', {
      params: v,
      body: { ...body, key_type: 'rsa', key_size: 1024 },
    });
    await expectError(422, 'invalid_association', 'createCertificateRequest', {
      params: v,
      body: { ...body, credential_id: 'nope' },
    });
    const list = await expectStatus(200, 'listCertificateRequests', {
      params: v,
      query: { status: 'pending', limit: '1' },
    });
    expect(list.json.next_cursor).toEqual(expect.any(String));
    await expectError(400, 'invalid_parameter', 'listCertificateRequests', {
      params: v,
      query: { status: 'x' },
    });
    const one = { vault_id: vaultId, id: created.json.data.id as string };
    await expectStatus(200, 'getCertificateRequest', { params: one });
    await expectError(404, 'certificate_request_not_found', 'getCertificateRequest', {
      params: { ...one, id: 'nope' },
    });

    const issuer = makeCa({ cn: 'Contract CSR CA' });
    const other = makeLeaf({ issuer, cn: 'contract-csr.example' });
    await expectError(422, 'key_mismatch', 'completeCertificateRequest', {
      params: one,
      body: { certificate: other.certPem },
    });
    const signed = signCsr(created.json.data.csr_pem, issuer);
    const completed = await expectStatus(201, 'completeCertificateRequest', {
      params: one,
      body: { certificate: signed + issuer.certPem },
    });
    expect(completed.json.data).toMatchObject({
      hosts: ['api.visa.example'],
      credential_id: body.credential_id,
    });
    await expectError(409, 'certificate_request_completed', 'completeCertificateRequest', {
      params: one,
      body: { certificate: signed },
    });
    await expectError(409, 'certificate_request_completed', 'deleteCertificateRequest', { params: one });
    await expectStatus(204, 'deleteCertificateRequest', { params: { ...one, id: rsa.json.data.id } });
    await expectError(404, 'certificate_request_not_found', 'deleteCertificateRequest', {
      params: { ...one, id: rsa.json.data.id },
    });
  });

  it('hostnames', async () => {
    const v = { vault_id: vaultId };
    const name = `callbacks-${Date.now().toString(36)}.contract.example`;
    const issuer = makeCa({ cn: 'Contract Public CA' });
    const server = makeLeaf({ issuer, cn: name, eku: ['serverAuth'], sans: [`DNS:${name}`] });
    const upload = { certificate: chainPem(server), private_key: server.keyPem };
    const created = await expectStatus(201, 'createHostname', {
      params: v,
      body: { hostname: name, ...upload, client_auth: { mode: 'required', ca_pem: callerCa.certPem } },
    });
    await expectError(422, 'hostname_mismatch', 'createHostname', {
      params: v,
      body: { hostname: `other.${name}`, ...upload },
    });
    const other = (await expectStatus(201, 'createVault', { body: { name: 'Other' } })).json.data
      .id as string;
    await expectError(409, 'hostname_taken', 'createHostname', {
      params: { vault_id: other },
      body: { hostname: name, ...upload },
    });
    await expectStatus(200, 'listHostnames', { params: v });
    await expectError(400, 'invalid_parameter', 'listHostnames', { params: v, query: { limit: 'many' } });
    const one = { vault_id: vaultId, id: created.json.data.id as string };
    const detail = await expectStatus(200, 'getHostname', { params: one });
    expect(detail.json.data.certificate_pem).toContain('BEGIN CERTIFICATE');
    await expectError(404, 'hostname_not_found', 'getHostname', { params: { ...one, id: 'nope' } });
    await expectStatus(200, 'replaceHostname', { params: one, body: upload });
    await expectError(404, 'hostname_not_found', 'replaceHostname', {
      params: { ...one, id: 'nope' },
      body: upload,
    });
    await expectStatus(204, 'deleteHostname', { params: one });
    await expectError(404, 'hostname_not_found', 'deleteHostname', { params: one });
  });

  it('webhooks', async () => {
    // Port 9 (discard): nothing listens, and no delivery is awaited here.
    const created = await expectStatus(201, 'createWebhook', {
      body: { url: 'http://127.0.0.1:9/hooks', events: ['certificate.created'], description: 'contract' },
    });
    expect(created.json.data.secret).toMatch(/^whsec_/);
    await expectError(422, 'invalid_field', 'createWebhook', {
      body: { url: 'http://127.0.0.1:9/', events: ['certificate.renamed'] },
    });
    await expectError(403, 'upstream_blocked', 'createWebhook', {
      body: { url: 'http://169.254.169.254/latest', events: ['certificate.created'] },
    });
    const one = { webhook_id: created.json.data.id as string };
    const listed = await expectStatus(200, 'listWebhooks');
    expect(listed.text).not.toContain(created.json.data.secret);
    await expectError(400, 'invalid_parameter', 'listWebhooks', { query: { limit: '0' } });
    await expectStatus(200, 'getWebhook', { params: one });
    await expectError(404, 'webhook_not_found', 'getWebhook', { params: { webhook_id: 'nope' } });
    await expectStatus(200, 'listDeliveries', { params: one });
    await expectError(404, 'webhook_not_found', 'listDeliveries', { params: { webhook_id: 'nope' } });
    await expectStatus(204, 'deleteWebhook', { params: one });
    await expectError(404, 'webhook_not_found', 'deleteWebhook', { params: one });
  });

  it('API tokens, and a call above the role', async () => {
    const created = await expectStatus(201, 'createApiToken', {
      body: { name: 'contract-viewer', role: 'viewer', expires_at: '2099-01-01T00:00:00Z' },
    });
    const token = created.json.data.token as string;
    expect(token).toMatch(/^vgt_/);
    await expectError(422, 'invalid_field', 'createApiToken', {
      body: { name: 'contract-viewer', role: 'viewer' },
    });
    await expectError(422, 'invalid_field', 'createApiToken', {
      body: { name: 'past', role: 'viewer', expires_at: '2001-01-01T00:00:00Z' },
    });
    // The viewer token reads, and is refused a write with 403 forbidden (checked against the document).
    await expectStatus(200, 'listVaults', { headers: { authorization: `Bearer ${token}` } });
    await expectError(403, 'forbidden', 'createApiToken', {
      headers: { authorization: `Bearer ${token}` },
      body: { name: 'escalate', role: 'admin' },
    });
    const listed = await expectStatus(200, 'listApiTokens');
    expect(listed.text).not.toContain(token);
    await expectError(400, 'invalid_parameter', 'listApiTokens', { query: { limit: '0' } });
    const one = { token_id: created.json.data.id as string };
    await expectStatus(200, 'getApiToken', { params: one });
    await expectError(404, 'api_token_not_found', 'getApiToken', { params: { token_id: 'nope' } });
    await expectStatus(204, 'deleteApiToken', { params: one });
    await expectError(404, 'api_token_not_found', 'deleteApiToken', { params: one });
    await expectError(401, 'unauthorized', 'listVaults', { headers: { authorization: `Bearer ${token}` } });
  });

  it('deleting a vault', async () => {
    await expectStatus(204, 'deleteVault', { params: { vault_id: vaultId }, query: { force: 'true' } });
    await expectError(404, 'vault_not_found', 'deleteVault', { params: { vault_id: vaultId } });
    await expectError(404, 'vault_not_found', 'getVault', { params: { vault_id: vaultId } });
  });
});

describe('coverage', () => {
  it('exercised every operation of the document: each success status and at least one error', () => {
    const missing: string[] = [];
    for (const op of operations.values()) {
      const statuses = seen.get(op.id) ?? new Set<number>();
      for (const status of Object.keys(op.responses).filter((s) => /^2\d\d$/.test(s))) {
        if (!statuses.has(Number(status))) missing.push(`${op.method} ${op.path} (${op.id}): ${status}`);
      }
      if (![...statuses].some((s) => s >= 400 && s < 500)) {
        missing.push(`${op.method} ${op.path} (${op.id}): an error answer`);
      }
    }
    expect(operations.size).toBeGreaterThan(30);
    expect(missing, 'operations this test did not exercise').toEqual([]);
  });
});
