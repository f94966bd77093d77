/**
 * Issue 14 / SPEC §2 "Inbound hostnames": a vault answers on the customer's own hostname with the
 * customer's server certificate, chosen by SNI. Callers connect by IP address with the SNI and Host
 * of `callbacks.acme.example`, as a client resolving that name to the listener would, and verify the
 * certificate against the test CA that issued it (not vaultgate's local CA).
 */
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callHostname } from './helpers/hostname-client.js';
import { startInbound, type InboundFixture } from './helpers/inbound-fixture.js';
import { fingerprintOf, startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { chainPem, makeCa, makeLeaf, makePkcs12, workDir, type Issued } from './helpers/pki-fixtures.js';

let f: InboundFixture;
let upstream: Upstream;
let customerCa: Issued;
let upstreamCa: Issued;

/** A server certificate for `names` signed by the customer's (test) CA. */
function serverCert(cn: string, names: string[] = [cn], days?: number): Issued {
  return makeLeaf({
    issuer: customerCa,
    cn,
    eku: ['serverAuth'],
    sans: names.map((n) => `DNS:${n}`),
    keySlot: `server:${cn}:${days ?? 0}:${Math.random()}`,
    ...(days === undefined ? {} : { days }),
  });
}

beforeAll(async () => {
  customerCa = makeCa({ cn: 'Acme Public Test CA' });
  upstreamCa = makeCa({ cn: 'Hostnames Upstream Root' });
  upstream = await startUpstream({
    server: makeLeaf({ issuer: upstreamCa, cn: 'localhost', eku: ['serverAuth'], sans: ['DNS:localhost'] }),
  });
  const caFile = join(workDir(), 'hostnames-upstream-ca.pem');
  writeFileSync(caFile, upstreamCa.certPem);
  f = await startInbound({ VAULTGATE_UPSTREAM_CA_FILE: caFile });
});
afterAll(async () => {
  await f?.stop();
  await upstream?.close();
});

async function vaultWithRoute(): Promise<{ id: string; host: string }> {
  const v = await f.vault('hostnames');
  await f.route(v.id, { destination_override_endpoint: upstream.url.origin });
  return v;
}

async function addHostname(
  vaultId: string,
  hostname: string,
  cert: Issued,
  extra: Record<string, unknown> = {},
) {
  return f.api('POST', `/vaults/${vaultId}/hostnames`, {
    hostname,
    certificate: chainPem(cert),
    private_key: cert.keyPem,
    ...extra,
  });
}

describe('the hostnames API', () => {
  it('adds a hostname, shows its metadata and never its key, lists, replaces and deletes it', async () => {
    const v = await vaultWithRoute();
    const cert = serverCert('api-one.acme.example');
    const created = await addHostname(v.id, 'API-One.acme.example.', cert);
    expect(created.status, created.text).toBe(201);
    const data = created.json.data;
    expect(data).toMatchObject({
      vault_id: v.id,
      hostname: 'api-one.acme.example',
      subject: expect.stringContaining('CN=api-one.acme.example'),
      issuer: expect.stringContaining('Acme Public Test CA'),
      sans: ['DNS:api-one.acme.example'],
      status: 'valid',
      fingerprint_sha256: fingerprintOf(cert.certPem),
      client_auth: { mode: 'off', ca_subjects: [] },
      warnings: [],
    });
    expect(created.text).not.toContain('PRIVATE KEY');

    const list = await f.api('GET', `/vaults/${v.id}/hostnames`);
    expect(list.json.data.map((h: { id: string }) => h.id)).toEqual([data.id]);
    const one = await f.api('GET', `/vaults/${v.id}/hostnames/${data.id}`);
    expect(one.json.data.certificate_pem).toContain('BEGIN CERTIFICATE');
    expect(one.text).not.toContain('PRIVATE KEY');

    const renewed = serverCert('api-one.acme.example', ['api-one.acme.example'], 400);
    const put = await f.api('PUT', `/vaults/${v.id}/hostnames/${data.id}`, {
      certificate: chainPem(renewed),
      private_key: renewed.keyPem,
    });
    expect(put.status, put.text).toBe(200);
    expect(put.json.data).toMatchObject({
      id: data.id,
      hostname: 'api-one.acme.example',
      fingerprint_sha256: fingerprintOf(renewed.certPem),
    });
    const del = await f.api('DELETE', `/vaults/${v.id}/hostnames/${data.id}`);
    expect(del.status).toBe(204);
    expect((await f.api('GET', `/vaults/${v.id}/hostnames/${data.id}`)).json.error.code).toBe(
      'hostname_not_found',
    );
    const actions = (await f.api('GET', `/audit-events?vault_id=${v.id}`)).json.data.map(
      (e: { action: string }) => e.action,
    );
    expect(actions).toEqual(
      expect.arrayContaining(['hostname.created', 'hostname.updated', 'hostname.deleted']),
    );
  });

  it('accepts a PKCS#12 file and a wildcard hostname', async () => {
    const v = await vaultWithRoute();
    const cert = serverCert('*.wild.acme.example');
    const res = await f.api('POST', `/vaults/${v.id}/hostnames`, {
      hostname: '*.wild.acme.example',
      pkcs12: makePkcs12(cert, { passphrase: 'p12 secret' }),
      passphrase: 'p12 secret',
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.data.hostname).toBe('*.wild.acme.example');
  });

  it('refuses, changing nothing: a certificate that does not cover the name, a taken name, a bad name', async () => {
    const v = await vaultWithRoute();
    const other = await vaultWithRoute();
    const mismatch = await addHostname(v.id, 'pay.acme.example', serverCert('other.acme.example'));
    expect(mismatch.status).toBe(422);
    expect(mismatch.json.error).toMatchObject({ code: 'hostname_mismatch', field: 'certificate' });
    expect(mismatch.json.error.message).toContain('"other.acme.example"');

    // A wildcard certificate covers one label below it, but a wildcard hostname needs the wildcard.
    const wildcard = serverCert('*.acme.example');
    expect((await addHostname(v.id, 'pay.acme.example', wildcard)).status).toBe(201);
    expect((await addHostname(v.id, 'a.b.acme.example', wildcard)).json.error.code).toBe('hostname_mismatch');
    expect((await addHostname(v.id, '*.deep.acme.example', wildcard)).json.error.code).toBe(
      'hostname_mismatch',
    );

    const again = await addHostname(v.id, 'pay.acme.example', wildcard);
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('hostname_taken');
    const taken = await addHostname(other.id, 'PAY.acme.example', wildcard);
    expect(taken.status).toBe(409);
    expect(taken.json.error).toMatchObject({ code: 'hostname_taken', field: 'hostname' });
    expect(taken.json.error.message).not.toContain(v.id);

    for (const bad of ['https://pay.acme.example', '10.0.0.1', 'a..b', '*.example', `x.${v.host}`]) {
      const res = await addHostname(v.id, bad, wildcard);
      expect(res.status, bad).toBe(422);
      expect(res.json.error.field, bad).toBe('hostname');
    }
    const noCert = await f.api('POST', `/vaults/${v.id}/hostnames`, { hostname: 'x.acme.example' });
    expect(noCert.json.error.code).toBe('invalid_field');
    expect((await f.api('GET', `/vaults/${v.id}/hostnames`)).json.data).toHaveLength(1);
    expect((await f.api('GET', `/vaults/${other.id}/hostnames`)).json.data).toHaveLength(0);
  });

  it('refuses caller mTLS settings the TLS stack could not enforce', async () => {
    const v = await vaultWithRoute();
    const cert = serverCert('mtls-bad.acme.example');
    const noCa = await addHostname(v.id, 'mtls-bad.acme.example', cert, {
      client_auth: { mode: 'required' },
    });
    expect(noCa.json.error).toMatchObject({ code: 'invalid_field', field: 'client_auth.ca_pem' });
    const notPem = await addHostname(v.id, 'mtls-bad.acme.example', cert, {
      client_auth: { mode: 'required', ca_pem: 'not a certificate' },
    });
    expect(notPem.json.error.field).toBe('client_auth.ca_pem');
    const badCrl = await addHostname(v.id, 'mtls-bad.acme.example', cert, {
      client_auth: { mode: 'optional', ca_pem: customerCa.certPem, crl_pem: customerCa.certPem },
    });
    expect(badCrl.json.error.field).toBe('client_auth.crl_pem');
    const patch = await f.api('PATCH', `/vaults/${v.id}`, { inbound_client_auth: { mode: 'sometimes' } });
    expect(patch.status).toBe(422);
    expect((await f.api('GET', `/vaults/${v.id}/hostnames`)).json.data).toHaveLength(0);
  });
});

describe('serving custom hostnames by SNI', () => {
  it('presents the uploaded certificate to Node and curl, and the local-CA one for the vault host', async () => {
    const v = await vaultWithRoute();
    const cert = serverCert('callbacks.acme.example');
    expect((await addHostname(v.id, 'callbacks.acme.example', cert)).status).toBe(201);

    const answer = await callHostname({
      port: f.port,
      sni: 'callbacks.acme.example',
      ca: customerCa.certPem,
    });
    expect(answer.status).toBe(200);
    expect(answer.peer.fingerprint256).toBe(fingerprintOf(cert.certPem));
    expect(answer.peer.subjectaltname).toBe('DNS:callbacks.acme.example');
    expect(answer.json.headers['x-forwarded-host']).toBe(`callbacks.acme.example:${f.port}`);

    const caFile = join(workDir(), 'hostnames-customer-ca.pem');
    writeFileSync(caFile, customerCa.certPem);
    const { stdout } = await promisify(execFile)('curl', [
      '-sS',
      '--fail-with-body',
      '--cacert',
      caFile,
      '--resolve',
      `callbacks.acme.example:${f.port}:127.0.0.1`,
      `https://callbacks.acme.example:${f.port}/from-curl`,
    ]);
    expect(JSON.parse(stdout).url).toBe('/from-curl');

    // The vault's own host keeps the local-CA certificate.
    const own = await f.report(v.host);
    expect(own.url).toBe('/');
  });

  it('matches a wildcard hostname for one label, as browsers do', async () => {
    const v = await vaultWithRoute();
    const cert = serverCert('*.hooks.acme.example');
    expect((await addHostname(v.id, '*.hooks.acme.example', cert)).status).toBe(201);
    const answer = await callHostname({
      port: f.port,
      sni: 'visa.hooks.acme.example',
      ca: customerCa.certPem,
    });
    expect(answer.status).toBe(200);
    expect(answer.peer.fingerprint256).toBe(fingerprintOf(cert.certPem));
    const deeper = await callHostname({
      port: f.port,
      sni: 'a.visa.hooks.acme.example',
      ca: f.localCa,
    });
    expect(deeper.status).toBe(404);
    expect(deeper.json.error.code).toBe('vault_not_found');
  });

  it('resumes TLS sessions on a hostname (TLS 1.2 and 1.3)', async () => {
    const v = await vaultWithRoute();
    const cert = serverCert('resume.acme.example');
    expect((await addHostname(v.id, 'resume.acme.example', cert)).status).toBe(201);
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const call = { port: f.port, sni: 'resume.acme.example', ca: customerCa.certPem, maxVersion: version };
      const first = await callHostname(call);
      expect(first.status).toBe(200);
      expect(first.reused).toBe(false);
      const second = await callHostname({ ...call, session: first.session });
      expect(second.status, version).toBe(200);
      expect(second.reused, version).toBe(true);
    }
  });

  it('rotates under keep-alive load without a failed request, and stops serving a deleted name at once', async () => {
    const v = await vaultWithRoute();
    let cert = serverCert('rotate.acme.example');
    const created = await addHostname(v.id, 'rotate.acme.example', cert);
    expect(created.status).toBe(201);
    const id = created.json.data.id as string;
    const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
    const base = { port: f.port, sni: 'rotate.acme.example', ca: customerCa.certPem };
    let ok = 0;
    let sent = 0;
    const failures: string[] = [];
    const inFlight = new Set<Promise<void>>();
    // An open-loop load of 200 requests per second (one every 5 ms), nine in ten on keep-alive
    // connections and one in ten on a fresh connection (a new handshake under the current certificate).
    const fire = (): void => {
      const fresh = sent++ % 10 === 0;
      const request = callHostname(fresh ? base : { ...base, agent }).then(
        (answer) => {
          if (answer.status === 200) ok++;
          else failures.push(`${answer.status} ${JSON.stringify(answer.json)}`);
        },
        (err: Error) => void failures.push(err.message),
      );
      inFlight.add(request);
      void request.finally(() => inFlight.delete(request));
    };
    const started = performance.now();
    const ticker = setInterval(fire, 5);
    const served = new Set<string>();
    for (let i = 0; i < 20; i++) {
      cert = serverCert('rotate.acme.example');
      const put = await f.api('PUT', `/vaults/${v.id}/hostnames/${id}`, {
        certificate: chainPem(cert),
        private_key: cert.keyPem,
      });
      expect(put.status, put.text).toBe(200);
      // The answer came after every worker took the change: a new handshake sees the new certificate.
      const fresh = await callHostname(base);
      expect(fresh.peer.fingerprint256).toBe(fingerprintOf(cert.certPem));
      served.add(fresh.peer.fingerprint256);
    }
    clearInterval(ticker);
    const seconds = (performance.now() - started) / 1000;
    await Promise.all(inFlight);
    agent.destroy();
    console.log(
      `hostname rotation: ${sent} requests in ${seconds.toFixed(1)} s (${Math.round(sent / seconds)}/s) during 20 replacements, ${failures.length} failed`,
    );
    expect(failures).toEqual([]);
    expect(ok).toBe(sent);
    expect(served.size).toBe(20);

    expect((await f.api('DELETE', `/vaults/${v.id}/hostnames/${id}`)).status).toBe(204);
    await expect(callHostname(base)).rejects.toThrow(/certificate/i);
    const gone = await callHostname({ ...base, ca: f.localCa });
    expect(gone.status).toBe(404);
    expect(gone.json.error.code).toBe('vault_not_found');
  });

  it('sends a custom hostname through the first inbound route matching it, else the vault’s route', async () => {
    const v = await f.vault('hostname routes');
    await f.route(v.id, {
      destination_override_endpoint: `${upstream.url.origin}/acme`,
      host_endpoint: 'routed\\.acme\\.example',
    });
    await f.route(v.id, { destination_override_endpoint: `${upstream.url.origin}/default` });
    expect((await addHostname(v.id, 'routed.acme.example', serverCert('routed.acme.example'))).status).toBe(
      201,
    );
    expect((await addHostname(v.id, 'plain.acme.example', serverCert('plain.acme.example'))).status).toBe(
      201,
    );
    const routed = await callHostname({
      port: f.port,
      sni: 'routed.acme.example',
      ca: customerCa.certPem,
      path: '/x',
    });
    expect(routed.json.url).toBe('/acme/x');
    const plain = await callHostname({
      port: f.port,
      sni: 'plain.acme.example',
      ca: customerCa.certPem,
      path: '/x',
    });
    expect(plain.json.url).toBe('/default/x');
  });

  it('exports server certificates in the expiry metric with proxy_type="server"', async () => {
    const v = await vaultWithRoute();
    const cert = serverCert('metric.acme.example');
    const created = await addHostname(v.id, 'metric.acme.example', cert);
    const metrics = await f.api('GET', '/metrics');
    const line = metrics.text
      .split('\n')
      .find(
        (l) =>
          l.startsWith('vaultgate_certificate_expiry_timestamp_seconds') && l.includes(created.json.data.id),
      );
    expect(line).toContain('proxy_type="server"');
    expect(line).toContain(`vault_id="${v.id}"`);
    expect(Number(line?.split(' ').pop())).toBe(Math.floor(Date.parse(created.json.data.not_after) / 1000));
  });
});
