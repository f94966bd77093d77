/**
 * Certificate requests end to end (SPEC §2 "Certificate lifecycle"): a real vaultgate generates the
 * key and the CSR, openssl checks the CSR, a test CA signs it, the signed certificate is attached and
 * then presented to a real upstream that demands a client certificate. The generated key appears in
 * no answer and no log line.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateRequestKeyAad } from '../src/secrets/aad.js';
import { loadMasterKey } from '../src/secrets/files.js';
import { Keyring } from '../src/secrets/keyring.js';
import type { ApiResult } from './helpers/vaultgate.js';
import { startInbound, type InboundFixture } from './helpers/inbound-fixture.js';
import { fingerprintOf, startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { makeCa, makeLeaf, openssl, signCsr, type Issued } from './helpers/pki-fixtures.js';

const DAY = 86_400_000;

let f: InboundFixture;
let upstream: Upstream;
let clientRoot: Issued;
let serverRoot: Issued;
const logs: string[] = [];
/** Every answer of the API in this file, for the secrets scan at the end. */
const answers: string[] = [];

async function api(method: string, path: string, body?: unknown): Promise<ApiResult> {
  const res = await f.api(method, path, body);
  answers.push(res.text);
  return res;
}

/** A vault of its own with an inbound route to the upstream (its host selects only that route). */
async function freshRoute(): Promise<{ vaultId: string; host: string; routeId: string }> {
  const v = await f.vault('csr tests');
  const routeId = await f.route(v.id, {
    destination_override_endpoint: upstream.url.href,
    upstream_tls: { ca_pem: serverRoot.certPem },
  });
  return { vaultId: v.id, host: v.host, routeId };
}

async function createRequest(vaultId: string, body: Record<string, unknown>): Promise<ApiResult> {
  return api('POST', `/vaults/${vaultId}/certificate-requests`, body);
}

async function created(vaultId: string, body: Record<string, unknown>) {
  const res = await createRequest(vaultId, body);
  expect(res.status, res.text).toBe(201);
  return res.json.data as { id: string; csr_pem: string; subject: string; status: string };
}

function inboundBody(routeId: string, extra: Record<string, unknown> = {}) {
  return {
    proxy_type: 'inbound',
    route_id: routeId,
    subject: { common_name: 'csr-client.acme.example' },
    key_type: 'ec',
    ...extra,
  };
}

async function attach(vaultId: string, requestId: string, certificate: string): Promise<ApiResult> {
  return api('POST', `/vaults/${vaultId}/certificate-requests/${requestId}/certificate`, { certificate });
}

beforeAll(async () => {
  clientRoot = makeCa({ cn: 'CSR Client Root' });
  serverRoot = makeCa({ cn: 'CSR Upstream Root' });
  const serverLeaf = makeLeaf({
    issuer: serverRoot,
    cn: 'localhost',
    eku: ['serverAuth'],
    sans: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  upstream = await startUpstream({ server: serverLeaf, clientCa: [clientRoot.certPem] });
  f = await startInbound({}, { logLines: logs });
});
afterAll(async () => {
  await f?.stop();
  await upstream?.close();
});

describe('the CSR vaultgate makes', () => {
  it.each([
    ['EC P-256', { key_type: 'ec' }, 'ecdsa-with-SHA256', { curve: 'P-256' }],
    ['EC P-384', { key_type: 'ec', curve: 'P-384' }, 'ecdsa-with-SHA384', { curve: 'P-384' }],
    ['RSA 2048', { key_type: 'rsa' }, 'sha256WithRSAEncryption', { key_size: 2048 }],
    ['RSA 4096', { key_type: 'rsa', key_size: 4096 }, 'sha256WithRSAEncryption', { key_size: 4096 }],
  ])(
    '%s: openssl verifies it, shows the subject and SANs; signed, it is presented upstream',
    async (_name, key, algorithm, shown) => {
      const r = await freshRoute();
      const res = await createRequest(r.vaultId, {
        proxy_type: 'inbound',
        route_id: r.routeId,
        description: 'Card network 2027',
        subject: {
          common_name: 'vdp.acme.example',
          organization: 'Acme, Inc.',
          organizational_unit: 'Payments',
          country: 'us',
          state: 'California',
          locality: 'San Francisco',
          email: 'pki@acme.example',
        },
        sans: [
          'vdp.acme.example',
          'DNS:*.vdp.acme.example',
          '10.1.2.3',
          'IP:2001:db8:0:0::1',
          'pki@acme.example',
        ],
        ...key,
      });
      expect(res.status, res.text).toBe(201);
      const data = res.json.data;
      expect(data).toMatchObject({
        vault_id: r.vaultId,
        proxy_type: 'inbound',
        credential_id: null,
        route_id: r.routeId,
        description: 'Card network 2027',
        hosts: [],
        subject:
          'emailAddress=pki@acme.example, CN=vdp.acme.example, OU=Payments, O=Acme\\, Inc., L=San Francisco, ST=California, C=US',
        sans: [
          'DNS:vdp.acme.example',
          'DNS:*.vdp.acme.example',
          'IP:10.1.2.3',
          'IP:2001:db8::1',
          'email:pki@acme.example',
        ],
        key_type: key.key_type,
        ...shown,
        status: 'pending',
        certificate_id: null,
        completed_at: null,
      });
      expect(Object.keys(data)).not.toContain(key.key_type === 'ec' ? 'key_size' : 'curve');
      expect(data.csr_pem).toMatch(
        /^-----BEGIN CERTIFICATE REQUEST-----\n[\s\S]+\n-----END CERTIFICATE REQUEST-----\n$/,
      );

      // What a CA operator runs on a CSR before signing it.
      openssl(['req', '-verify', '-noout'], data.csr_pem);
      const subject = openssl(['req', '-noout', '-subject', '-nameopt', 'RFC2253'], data.csr_pem).toString();
      expect(subject.trim()).toBe(
        'subject=emailAddress=pki@acme.example,CN=vdp.acme.example,OU=Payments,O=Acme\\, Inc.,L=San Francisco,ST=California,C=US',
      );
      const text = openssl(['req', '-noout', '-text'], data.csr_pem).toString();
      expect(text).toContain(`Signature Algorithm: ${algorithm}`);
      expect(text).toMatch(
        /DNS:vdp\.acme\.example, DNS:\*\.vdp\.acme\.example, IP Address:10\.1\.2\.3, IP Address:2001:DB8:0:0:0:0:0:1, email:pki@acme\.example/,
      );

      const signed = signCsr(data.csr_pem, clientRoot);
      const attached = await attach(r.vaultId, data.id, signed + clientRoot.certPem);
      expect(attached.status, attached.text).toBe(201);
      const certificate = attached.json.data;
      expect(certificate).toMatchObject({
        proxy_type: 'inbound',
        route_id: r.routeId,
        description: 'Card network 2027',
        subject: data.subject,
        fingerprint_sha256: fingerprintOf(signed),
        key_type: key.key_type,
        ...shown,
        warnings: [],
      });
      const done = await api('GET', `/vaults/${r.vaultId}/certificate-requests/${data.id}`);
      expect(done.json.data).toMatchObject({ status: 'completed', certificate_id: certificate.id });
      expect(Date.parse(done.json.data.completed_at)).toBeGreaterThan(0);
      expect(done.json.data.csr_pem).toBe(data.csr_pem);

      const seen = await f.report(r.host, { path: '/who' });
      expect(seen).toMatchObject({
        authorized: true,
        clientCn: 'vdp.acme.example',
        clientFingerprint256: fingerprintOf(signed),
      });

      const audit = await api('GET', `/audit-events?vault_id=${r.vaultId}`);
      const actions = (audit.json.data as { action: string; target_id: string }[]).map((e) => [
        e.action,
        e.target_id,
      ]);
      expect(actions).toContainEqual(['certificate_request.created', data.id]);
      expect(actions).toContainEqual(['certificate.created', certificate.id]);
    },
    60_000,
  );

  it('an outbound request is tied to its credential and keeps its hosts', async () => {
    const v = await f.vault('csr outbound');
    const cred = (await api('POST', `/vaults/${v.id}/credentials`, {})).json.data;
    const req = await created(v.id, {
      proxy_type: 'outbound',
      credential_id: cred.id,
      subject: { common_name: 'out.acme.example' },
      key_type: 'ec',
      hosts: ['API.Visa.example.'],
    });
    expect(req).toMatchObject({
      credential_id: cred.id,
      route_id: null,
      hosts: ['api.visa.example'],
      sans: [],
    });
    const attached = await attach(v.id, req.id, signCsr(req.csr_pem, clientRoot));
    expect(attached.status, attached.text).toBe(201);
    expect(attached.json.data).toMatchObject({
      proxy_type: 'outbound',
      credential_id: cred.id,
      hosts: ['api.visa.example'],
      warnings: ['incomplete_chain'],
    });
    // A pending request blocks deleting its credential as a certificate does; a completed one does not.
    const pending = await created(v.id, {
      proxy_type: 'outbound',
      credential_id: cred.id,
      subject: { common_name: 'out2.acme.example' },
      key_type: 'ec',
    });
    expect((await api('DELETE', `/vaults/${v.id}/certificates/${attached.json.data.id}`)).status).toBe(204);
    const blocked = await api('DELETE', `/vaults/${v.id}/credentials/${cred.id}`);
    expect(blocked.status).toBe(409);
    expect(blocked.json.error).toMatchObject({ code: 'credential_in_use' });
    expect(blocked.json.error.message).toContain('pending certificate request');
    expect((await api('DELETE', `/vaults/${v.id}/certificate-requests/${pending.id}`)).status).toBe(204);
    expect((await api('DELETE', `/vaults/${v.id}/credentials/${cred.id}`)).status).toBe(204);
  });
});

describe('attaching the signed certificate', () => {
  it('a certificate of another key is key_mismatch, and the request stays pending', async () => {
    const r = await freshRoute();
    const req = await created(r.vaultId, inboundBody(r.routeId));
    const other = makeLeaf({ issuer: clientRoot, cn: 'csr-client.acme.example' });
    const res = await attach(r.vaultId, req.id, other.certPem);
    expect(res.status).toBe(422);
    expect(res.json.error).toMatchObject({ code: 'key_mismatch', field: 'certificate' });
    const bundle = await attach(r.vaultId, req.id, other.certPem + other.keyPem);
    expect(bundle.json.error).toMatchObject({ code: 'invalid_field', field: 'certificate' });
    const notPem = await attach(r.vaultId, req.id, 'hello');
    expect(notPem.json.error).toMatchObject({ code: 'invalid_certificate', field: 'certificate' });
    const expired = signCsr(req.csr_pem, clientRoot, {
      notBefore: new Date(Date.now() - 10 * DAY),
      notAfter: new Date(Date.now() - DAY),
    });
    expect((await attach(r.vaultId, req.id, expired)).json.error.code).toBe('certificate_expired');
    const sha1 = signCsr(req.csr_pem, clientRoot, { digest: 'sha1' });
    expect((await attach(r.vaultId, req.id, sha1)).json.error.code).toBe('weak_signature');

    const still = await api('GET', `/vaults/${r.vaultId}/certificate-requests/${req.id}`);
    expect(still.json.data.status).toBe('pending');
    expect((await api('GET', `/vaults/${r.vaultId}/certificates`)).json.data).toEqual([]);

    // With only the pending request tied to it, the inbound route cannot become an outbound one.
    const turned = await api('PUT', `/vaults/${r.vaultId}/routes/${r.routeId}`, {
      destination_override_endpoint: '*',
      host_endpoint: 'api\\.example',
    });
    expect(turned.status).toBe(409);
    expect(turned.json.error).toMatchObject({ code: 'route_in_use' });
  });

  it('renewal: a second request for the same route with a later not_before takes over', async () => {
    const r = await freshRoute();
    const first = await created(r.vaultId, inboundBody(r.routeId, { description: '2026' }));
    const firstCert = signCsr(first.csr_pem, clientRoot, { notBefore: new Date(Date.now() - 2 * DAY) });
    expect((await attach(r.vaultId, first.id, firstCert)).status).toBe(201);
    expect((await f.report(r.host)).clientFingerprint256).toBe(fingerprintOf(firstCert));

    const second = await created(r.vaultId, inboundBody(r.routeId, { description: '2027' }));
    const secondCert = signCsr(second.csr_pem, clientRoot, { notBefore: new Date(Date.now() - DAY) });
    const res = await attach(r.vaultId, second.id, secondCert);
    expect(res.status, res.text).toBe(201);
    expect((await f.report(r.host)).clientFingerprint256).toBe(fingerprintOf(secondCert));
    // Two keys: the renewal's is new, not the old one reused.
    expect(new X509Certificate(firstCert).publicKey.export({ type: 'spki', format: 'pem' })).not.toBe(
      new X509Certificate(secondCert).publicKey.export({ type: 'spki', format: 'pem' }),
    );
    const certificates = (await api('GET', `/vaults/${r.vaultId}/certificates`)).json.data;
    expect(certificates.map((c: { description: string }) => c.description)).toEqual(['2026', '2027']);
  });

  it('two completions at once: one certificate, the other answer is 409', async () => {
    const r = await freshRoute();
    const req = await created(r.vaultId, inboundBody(r.routeId));
    const signed = signCsr(req.csr_pem, clientRoot);
    const answers = await Promise.all([attach(r.vaultId, req.id, signed), attach(r.vaultId, req.id, signed)]);
    expect(answers.map((a) => a.status).sort()).toEqual([201, 409]);
    expect((await api('GET', `/vaults/${r.vaultId}/certificates`)).json.data).toHaveLength(1);
  });

  it('a completed request can be neither completed again nor deleted', async () => {
    const r = await freshRoute();
    const req = await created(r.vaultId, inboundBody(r.routeId));
    const signed = signCsr(req.csr_pem, clientRoot);
    expect((await attach(r.vaultId, req.id, signed)).status).toBe(201);
    const again = await attach(r.vaultId, req.id, signed);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('certificate_request_completed');
    const del = await api('DELETE', `/vaults/${r.vaultId}/certificate-requests/${req.id}`);
    expect(del.status).toBe(409);
    expect(del.json.error.code).toBe('certificate_request_completed');
    expect((await api('GET', `/vaults/${r.vaultId}/certificates`)).json.data).toHaveLength(1);
    // The completed request no longer holds a sealed key: the certificate row does.
    expect((await f.t.vg.store.read.getCertificateRequest(r.vaultId, req.id))?.private_key_sealed).toBeNull();
  });
});

describe('listing, reading, deleting', () => {
  it('lists in creation order, paged, filtered by status; deletes pending ones; 404s', async () => {
    const r = await freshRoute();
    const ids: string[] = [];
    for (const cn of ['a.example', 'b.example', 'c.example']) {
      ids.push((await created(r.vaultId, inboundBody(r.routeId, { subject: { common_name: cn } }))).id);
    }
    const base = `/vaults/${r.vaultId}/certificate-requests`;
    expect(
      (
        await attach(
          r.vaultId,
          ids[1] as string,
          signCsr((await api('GET', `${base}/${ids[1]}`)).json.data.csr_pem, clientRoot),
        )
      ).status,
    ).toBe(201);

    const all = await api('GET', base);
    expect(all.json.data.map((x: { id: string }) => x.id)).toEqual(ids);
    expect(all.json.next_cursor).toBeNull();
    const pending = await api('GET', `${base}?status=pending`);
    expect(pending.json.data.map((x: { id: string }) => x.id)).toEqual([ids[0], ids[2]]);
    const completed = await api('GET', `${base}?status=completed`);
    expect(completed.json.data.map((x: { id: string }) => x.id)).toEqual([ids[1]]);

    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: ApiResult = await api('GET', `${base}?limit=1${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.json.data.map((x: { id: string }) => x.id));
      cursor = page.json.next_cursor;
    } while (cursor !== null);
    expect(seen).toEqual(ids);

    expect((await api('GET', `${base}?colour=red`)).json.error.code).toBe('unknown_parameter');
    expect((await api('GET', `${base}?status=old`)).json.error).toMatchObject({
      code: 'invalid_parameter',
      field: 'status',
    });
    expect((await api('GET', `${base}?cursor=nope`)).json.error.code).toBe('invalid_parameter');

    // A pending request blocks deleting its route.
    const blocked = await api('DELETE', `/vaults/${r.vaultId}/routes/${r.routeId}`);
    expect(blocked.json.error.code).toBe('route_in_use');

    expect((await api('DELETE', `${base}/${ids[0]}`)).status).toBe(204);
    const gone = await api('GET', `${base}/${ids[0]}`);
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe('certificate_request_not_found');
    expect((await api('DELETE', `${base}/${ids[0]}`)).json.error.code).toBe('certificate_request_not_found');
    expect((await attach(r.vaultId, 'nope', 'x')).json.error.code).toBe('certificate_request_not_found');
    expect((await api('GET', `/vaults/tnt00000000/certificate-requests`)).json.error.code).toBe(
      'vault_not_found',
    );
    const audit = await api('GET', `/audit-events?vault_id=${r.vaultId}&action=certificate_request.deleted`);
    expect(audit.json.data.map((e: { target_id: string }) => e.target_id)).toEqual([ids[0]]);

    // A vault deleted with ?force=true takes its requests along.
    expect((await api('DELETE', `/vaults/${r.vaultId}?force=true`)).status).toBe(204);
    expect(await f.t.vg.store.read.getCertificateRequest(r.vaultId, ids[2] as string)).toBeUndefined();
  });
});

describe('validation', () => {
  it.each<[string, Record<string, unknown>, number, string, string | undefined]>([
    ['an unknown field', { colour: 'red' }, 400, 'unknown_field', 'colour'],
    [
      'an unknown subject field',
      { subject: { common_name: 'x', street: 'y' } },
      400,
      'unknown_field',
      'subject.street',
    ],
    ['a curve vaultgate does not generate', { curve: 'P-521' }, 422, 'invalid_field', 'curve'],
    ['RSA 1024', { key_type: 'rsa', key_size: 1024 }, 422, 'invalid_field', 'key_size'],
    ['a curve for RSA', { key_type: 'rsa', curve: 'P-256' }, 422, 'invalid_field', 'curve'],
    ['a key_size for EC', { key_size: 2048 }, 422, 'invalid_field', 'key_size'],
    ['no key type', { key_type: undefined }, 422, 'invalid_field', 'key_type'],
    ['no common name', { subject: { organization: 'Acme' } }, 422, 'invalid_field', 'subject.common_name'],
    [
      'a common name over 64 characters',
      { subject: { common_name: 'a'.repeat(65) } },
      422,
      'invalid_field',
      'subject.common_name',
    ],
    [
      'a country of three letters',
      { subject: { common_name: 'x', country: 'USA' } },
      422,
      'invalid_field',
      'subject.country',
    ],
    [
      'a control character',
      { subject: { common_name: 'a\nb' } },
      422,
      'invalid_field',
      'subject.common_name',
    ],
    [
      'a bad email',
      { subject: { common_name: 'x', email: 'not an email' } },
      422,
      'invalid_field',
      'subject.email',
    ],
    ['a bad DNS SAN', { sans: ['exa mple.com'] }, 422, 'invalid_field', 'sans'],
    ['a bad IP SAN', { sans: ['IP:300.1.1.1'] }, 422, 'invalid_field', 'sans'],
    ['hosts on an inbound request', { hosts: ['api.example'] }, 422, 'invalid_field', 'hosts'],
    ['a credential on an inbound request', { credential_id: 'x' }, 422, 'invalid_association', 'route_id'],
    ['an unknown route', { route_id: 'nope' }, 422, 'invalid_association', 'route_id'],
  ])('%s is refused and nothing is stored', async (_name, change, status, code, field) => {
    const r = await freshRoute();
    const body: Record<string, unknown> = { ...inboundBody(r.routeId), ...change };
    for (const [k, v] of Object.entries(body)) if (v === undefined) delete body[k];
    const res = await createRequest(r.vaultId, body);
    expect(res.status, res.text).toBe(status);
    expect(res.json.error).toMatchObject({ code, ...(field ? { field } : {}) });
    expect((await api('GET', `/vaults/${r.vaultId}/certificate-requests`)).json.data).toEqual([]);
  });
});

describe('the generated key never leaves vaultgate', () => {
  it('appears in no answer and no log line, in clear or sealed', async () => {
    const r = await freshRoute();
    const req = await created(r.vaultId, inboundBody(r.routeId));
    const stored = await f.t.vg.store.read.getCertificateRequest(r.vaultId, req.id);
    const sealed = stored?.private_key_sealed ?? '';
    expect(sealed).not.toBe('');
    const keyring = new Keyring(loadMasterKey(f.t.dataDir, undefined).value);
    const keyPem = keyring
      .open(sealed, certificateRequestKeyAad({ ...req, ...(stored as NonNullable<typeof stored>) }))
      .toString();
    expect(keyPem).toContain('-----BEGIN PRIVATE KEY-----');
    // The key belongs to the CSR: what a CA signs from it is what the key can present.
    const signed = signCsr(req.csr_pem, clientRoot);
    expect((await attach(r.vaultId, req.id, signed)).status).toBe(201);
    expect((await f.report(r.host)).clientFingerprint256).toBe(fingerprintOf(signed));

    // Every base64 line of the key's PEM is long enough to be unmistakable.
    const keyLines = keyPem.split('\n').filter((l) => l.length >= 40 && !l.startsWith('-----'));
    expect(keyLines.length).toBeGreaterThan(0);
    const everything = [...answers, ...logs].join('\n');
    expect(everything).not.toMatch(/PRIVATE KEY/);
    expect(everything).not.toContain(sealed);
    for (const line of keyLines) expect(everything).not.toContain(line);

    // At rest: no file of the data dir (the SQLite database and its WAL) holds it in clear, as PEM
    // lines or as DER. master.key is the one file that is a key by design.
    const der = createPrivateKey(keyPem).export({ type: 'pkcs8', format: 'der' });
    for (const name of readdirSync(f.t.dataDir)) {
      if (name === 'master.key') continue;
      const path = join(f.t.dataDir, name);
      if (!statSync(path).isFile()) continue;
      const bytes = readFileSync(path);
      expect(bytes.includes(der), name).toBe(false);
      for (const line of keyLines) expect(bytes.includes(line), name).toBe(false);
    }
  });
});
