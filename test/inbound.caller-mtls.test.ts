/**
 * Issue 14 / SPEC §2 caller mTLS: a hostname (or a vault's own host) that requires callers to
 * present a certificate from its CA bundle refuses no certificate, another CA's, an expired and a
 * revoked one, on TLS 1.2 and 1.3 alike; the verified identity reaches the upstream in Envoy's
 * X-Forwarded-Client-Cert format, and never one the caller wrote; a TLS session cannot carry a
 * verified identity from one hostname to another.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callHostname, type HostnameCall } from './helpers/hostname-client.js';
import { startInbound, type InboundFixture } from './helpers/inbound-fixture.js';
import { startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { chainPem, makeCa, makeCrl, makeLeaf, workDir, type Issued } from './helpers/pki-fixtures.js';

let f: InboundFixture;
let upstream: Upstream;
let serverCa: Issued;
let callersCa: Issued;
let otherCa: Issued;
/** Callers: a good one, one of another CA, an expired one and a revoked one. */
let good: Issued;
let foreign: Issued;
let expired: Issued;
let revoked: Issued;
let vault: { id: string; host: string };

const VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

function serverCert(name: string): Issued {
  return makeLeaf({ issuer: serverCa, cn: name, eku: ['serverAuth'], sans: [`DNS:${name}`] });
}

async function addHostname(name: string, clientAuth: Record<string, unknown>): Promise<string> {
  const cert = serverCert(name);
  const res = await f.api('POST', `/vaults/${vault.id}/hostnames`, {
    hostname: name,
    certificate: chainPem(cert),
    private_key: cert.keyPem,
    client_auth: clientAuth,
  });
  expect(res.status, res.text).toBe(201);
  return res.json.data.id as string;
}

/** Envoy's XFCC element for a caller certificate, written out independently of vaultgate's code. */
function expectedXfcc(caller: Issued): string {
  const der = new X509Certificate(caller.certPem).raw;
  return `Hash=${createHash('sha256').update(der).digest('hex')};Subject="CN=${caller.subject.split('/CN=')[1]},O=Vaultgate Tests"`;
}

beforeAll(async () => {
  serverCa = makeCa({ cn: 'Caller mTLS Server CA' });
  callersCa = makeCa({ cn: 'Card Network Callers CA' });
  otherCa = makeCa({ cn: 'Somebody Else CA' });
  const leaf = (cn: string, issuer: Issued, extra = {}) =>
    makeLeaf({ issuer, cn, org: 'Vaultgate Tests', eku: ['clientAuth'], ...extra });
  good = leaf('visa-callbacks', callersCa);
  foreign = leaf('stranger', otherCa);
  expired = leaf('expired-caller', callersCa, {
    notBefore: new Date(Date.now() - 20 * 86_400_000),
    notAfter: new Date(Date.now() - 86_400_000),
  });
  revoked = leaf('revoked-caller', callersCa);
  upstream = await startUpstream({
    server: makeLeaf({ issuer: serverCa, cn: 'localhost', eku: ['serverAuth'], sans: ['DNS:localhost'] }),
  });
  const caFile = join(workDir(), 'caller-mtls-upstream-ca.pem');
  writeFileSync(caFile, serverCa.certPem);
  f = await startInbound({ VAULTGATE_UPSTREAM_CA_FILE: caFile });
  vault = await f.vault('caller mtls');
  await f.route(vault.id, { destination_override_endpoint: upstream.url.origin });
  await addHostname('strict.acme.example', {
    mode: 'required',
    ca_pem: callersCa.certPem,
    crl_pem: makeCrl(callersCa, [revoked]),
  });
  await addHostname('partner.acme.example', { mode: 'required', ca_pem: otherCa.certPem });
  await addHostname('maybe.acme.example', { mode: 'optional', ca_pem: callersCa.certPem });
  await addHostname('open.acme.example', { mode: 'off' });
});
afterAll(async () => {
  await f?.stop();
  await upstream?.close();
});

const as = (caller: Issued | null, call: Partial<HostnameCall> & { sni: string | null }): HostnameCall => ({
  port: f.port,
  ca: serverCa.certPem,
  ...(caller === null ? {} : { cert: caller.certPem, key: caller.keyPem }),
  ...call,
});

describe('caller mTLS required', () => {
  for (const version of VERSIONS) {
    it(`refuses no, foreign, expired and revoked certificates and accepts the right one (${version})`, async () => {
      const sni = 'strict.acme.example';
      const cases: [Issued | null, RegExp][] = [
        [null, /no client certificate/],
        [foreign, /not issued by a CA this host trusts/],
        [expired, /expired/],
        [revoked, /revoked/],
      ];
      for (const [caller, reason] of cases) {
        const answer = await callHostname(as(caller, { sni, maxVersion: version, minVersion: version }));
        expect(answer.status, caller?.subject ?? 'none').toBe(401);
        expect(answer.headers['x-vaultgate-error']).toBe('client_certificate_required');
        expect(answer.json.error.code).toBe('client_certificate_required');
        expect(answer.json.error.message).toMatch(reason);
      }
      const ok = await callHostname(
        as(good, {
          sni,
          maxVersion: version,
          minVersion: version,
          headers: { 'x-forwarded-client-cert': 'Hash=spoofed;Subject="CN=admin"' },
        }),
      );
      expect(ok.status).toBe(200);
      expect(ok.protocol).toBe(version);
      expect(ok.json.headers['x-forwarded-client-cert']).toBe(expectedXfcc(good));
    });
  }

  it('applies to a vault’s own host through PATCH /vaults/{id}, and lifts when set off', async () => {
    const v = await f.vault('default host mtls');
    await f.route(v.id, { destination_override_endpoint: upstream.url.origin });
    const patch = await f.api('PATCH', `/vaults/${v.id}`, {
      inbound_client_auth: { mode: 'required', ca_pem: callersCa.certPem },
    });
    expect(patch.status, patch.text).toBe(200);
    expect(patch.json.data.inbound_client_auth).toMatchObject({
      mode: 'required',
      ca_subjects: [expect.stringContaining('Card Network Callers CA')],
    });
    const call = { sni: v.host, ca: f.localCa };
    expect((await callHostname(as(null, call))).status).toBe(401);
    const ok = await callHostname(as(good, call));
    expect(ok.status).toBe(200);
    expect(ok.json.headers['x-forwarded-client-cert']).toBe(expectedXfcc(good));
    expect((await f.api('PATCH', `/vaults/${v.id}`, { inbound_client_auth: { mode: 'off' } })).status).toBe(
      200,
    );
    expect((await callHostname(as(null, call))).status).toBe(200);
  });
});

describe('caller mTLS optional and off', () => {
  it('optional: no certificate passes without an identity; a presented one must verify', async () => {
    const none = await callHostname(
      as(null, { sni: 'maybe.acme.example', headers: { 'x-forwarded-client-cert': 'Hash=spoofed' } }),
    );
    expect(none.status).toBe(200);
    expect(none.json.headers['x-forwarded-client-cert']).toBeUndefined();
    const ok = await callHostname(as(good, { sni: 'maybe.acme.example' }));
    expect(ok.json.headers['x-forwarded-client-cert']).toBe(expectedXfcc(good));
    const bad = await callHostname(as(foreign, { sni: 'maybe.acme.example' }));
    expect(bad.status).toBe(401);
  });

  it('off: any certificate is ignored and a caller’s XFCC header is still removed', async () => {
    const answer = await callHostname(
      as(foreign, { sni: 'open.acme.example', headers: { 'x-forwarded-client-cert': 'Hash=spoofed' } }),
    );
    expect(answer.status).toBe(200);
    expect(answer.json.headers['x-forwarded-client-cert']).toBeUndefined();
  });
});

describe('one identity per hostname', () => {
  for (const version of VERSIONS) {
    it(`does not let a session verified for one hostname carry its identity to another (${version})`, async () => {
      const first = await callHostname(as(foreign, { sni: 'partner.acme.example', maxVersion: version }));
      expect(first.status).toBe(200);
      expect(first.session).toBeDefined();
      // Resumed on the hostname that verified it: works, without sending the certificate again.
      const again = await callHostname(
        as(null, { sni: 'partner.acme.example', maxVersion: version, session: first.session }),
      );
      expect(again.reused).toBe(true);
      expect(again.status).toBe(200);
      expect(again.json.headers['x-forwarded-client-cert']).toBe(expectedXfcc(foreign));
      // Offered to a hostname that trusts another CA: the identity does not count there.
      const elsewhere = await callHostname(
        as(null, { sni: 'maybe.acme.example', maxVersion: version, session: first.session }),
      );
      expect(elsewhere.status).toBe(401);
      expect(elsewhere.json.error.code).toBe('client_certificate_required');
    });
  }

  it('answers 421 when SNI and Host name different hostnames, or a caller-mTLS name has no SNI', async () => {
    const crossed = await callHostname(
      as(good, { sni: 'open.acme.example', host: 'strict.acme.example', ca: serverCa.certPem }),
    );
    expect(crossed.status).toBe(421);
    expect(crossed.json.error.code).toBe('misdirected_request');
    const noSni = await callHostname(as(good, { sni: null, host: 'strict.acme.example', ca: f.localCa }));
    expect(noSni.status).toBe(421);
    expect(noSni.json.error.code).toBe('misdirected_request');
  });
});
