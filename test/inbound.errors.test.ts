/**
 * Inbound proxy, end to end: every SPEC §5 upstream error, produced by a real failing upstream behind
 * a route and observed by a caller of the inbound port (status, JSON body, x-vaultgate-error), over
 * TLS 1.2 and TLS 1.3. This vaultgate trusts the upstream CA through VAULTGATE_UPSTREAM_CA_FILE only,
 * and has short upstream timeouts.
 */
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInbound, type Answer, type InboundFixture } from './helpers/inbound-fixture.js';
import { fingerprintOf, startUpstream, type UpstreamOptions } from './helpers/inbound-upstream.js';
import { makeCa, makeLeaf, workDir, type Issued } from './helpers/pki-fixtures.js';
import { closedPort, startOpensslUpstream } from './helpers/tls-upstream.js';

const CONNECT_TIMEOUT_MS = 300;
const RESPONSE_TIMEOUT_MS = 400;

let f: InboundFixture;
let serverRoot: Issued;
let serverLeaf: Issued;
let clientRoot: Issued;
let client: Issued;
let foreignClient: Issued;

beforeAll(async () => {
  serverRoot = makeCa({ cn: 'Errors Upstream Root' });
  serverLeaf = makeLeaf({
    issuer: serverRoot,
    cn: 'localhost',
    eku: ['serverAuth'],
    sans: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  clientRoot = makeCa({ cn: 'Errors Client Root' });
  client = makeLeaf({ issuer: clientRoot, cn: 'errors-client' });
  const foreignRoot = makeCa({ cn: 'Errors Foreign Root' });
  foreignClient = makeLeaf({ issuer: foreignRoot, cn: 'errors-foreign-client' });
  const caFile = join(workDir(), 'inbound-errors-upstream-ca.pem');
  writeFileSync(caFile, serverRoot.certPem);
  f = await startInbound({
    VAULTGATE_UPSTREAM_CA_FILE: caFile,
    VAULTGATE_UPSTREAM_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS),
    VAULTGATE_UPSTREAM_RESPONSE_TIMEOUT_MS: String(RESPONSE_TIMEOUT_MS),
  });
});
afterAll(async () => {
  await f?.stop();
});

/** A vault whose only inbound route goes to `destination` (no upstream_tls: CA file trust only). */
async function through(destination: string, certificate: Issued | null): Promise<Answer> {
  const v = await f.vault();
  const routeId = await f.route(v.id, { destination_override_endpoint: destination });
  if (certificate !== null) await f.upload(v.id, routeId, certificate);
  return f.request(v.host, { path: '/callback' });
}

function expectError(res: Answer, status: number, code: string): void {
  expect(res.status, res.body.toString()).toBe(status);
  expect(res.headers['x-vaultgate-error']).toBe(code);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  expect(res.json).toMatchObject({ error: { code, message: expect.any(String) } });
}

describe.each<SecureVersion>(['TLSv1.2', 'TLSv1.3'])('over %s', (version) => {
  async function node(opts: Partial<UpstreamOptions>, certificate: Issued | null): Promise<Answer> {
    const upstream = await startUpstream({
      server: serverLeaf,
      clientCa: [clientRoot.certPem],
      minVersion: version,
      maxVersion: version,
      ...opts,
    });
    try {
      return await through(upstream.url.href, certificate);
    } finally {
      await upstream.close();
    }
  }

  it('the good certificate gets through (the baseline every failure below departs from)', async () => {
    const ok = await node({}, client);
    expect(ok.status).toBe(200);
    expect(ok.json).toMatchObject({ protocol: version, clientFingerprint256: fingerprintOf(client.certPem) });
  });

  it('upstream_client_certificate_rejected: no certificate tied while the upstream demands one', async () => {
    const res = await node({}, null);
    expectError(res, 502, 'upstream_client_certificate_rejected');
    // Inbound callers get the generic sentence; the detail ("none is tied") is in the log line.
    expect(res.json.error.message).toContain('for want of a client certificate');
    expect(res.json.error.message).not.toContain('none is tied');
  });

  it('upstream_client_certificate_rejected: a certificate the upstream does not trust', async () => {
    expectError(await node({}, foreignClient), 502, 'upstream_client_certificate_rejected');
  });

  it('upstream_client_certificate_rejected: an OpenSSL upstream refusing with a TLS alert', async () => {
    const sserver = await startOpensslUpstream({ server: serverLeaf, clientCa: clientRoot.certPem, version });
    try {
      expect((await through(sserver.url.href, client)).status).toBe(200);
      const none = await through(sserver.url.href, null);
      expectError(none, 502, 'upstream_client_certificate_rejected');
      const foreign = await through(sserver.url.href, foreignClient);
      expectError(foreign, 502, 'upstream_client_certificate_rejected');
      expect(foreign.json.error.message).toContain("The upstream refused vaultgate's client certificate.");
      expect(foreign.json.error.message).not.toMatch(/TLS alert/);
    } finally {
      sserver.close();
    }
  });

  it('upstream_certificate_untrusted: a server certificate from a CA nobody configured', async () => {
    const selfSigned = makeLeaf({ cn: 'localhost', eku: ['serverAuth'], sans: ['DNS:localhost'] });
    expectError(await node({ server: selfSigned }, client), 502, 'upstream_certificate_untrusted');
  });

  it('upstream_tls_error: no cipher suite in common', async () => {
    // The upstream's key is ECDSA; it allows only an RSA suite (1.2) or a suite Node never offers (1.3).
    const ciphers = version === 'TLSv1.3' ? 'TLS_AES_128_CCM_8_SHA256' : 'ECDHE-RSA-AES128-GCM-SHA256';
    expectError(await node({ ciphers }, client), 502, 'upstream_tls_error');
  });

  it('upstream_unreachable: the upstream resets the connection before answering', async () => {
    // An upstream that asks for no client certificate: when one that asked closes a fresh connection
    // without a word, vaultgate cannot tell a crash from a Node-style certificate refusal (no alert)
    // and reports upstream_client_certificate_rejected with a "probably" (classify.ts).
    const res = await node({ clientCa: undefined, handler: (req) => req.socket.destroy() }, client);
    expectError(res, 502, 'upstream_unreachable');
    expect(res.json.error.message).toContain('closed the connection');
  });

  it('upstream_timeout: no response headers within the configured response timeout', async () => {
    const started = Date.now();
    const res = await node({ handler: () => {} }, client);
    expectError(res, 504, 'upstream_timeout');
    expect(res.json.error.message).toContain('did not answer in time');
    expect(Date.now() - started).toBeGreaterThanOrEqual(RESPONSE_TIMEOUT_MS);
  });
});

describe('transport failures', () => {
  it('upstream_unreachable: connection refused', async () => {
    const res = await through(`https://localhost:${await closedPort()}`, client);
    expectError(res, 502, 'upstream_unreachable');
    expect(res.json.error.message).toContain('could not reach the upstream service');
  });

  it('upstream_unreachable: a host name that does not resolve', async () => {
    expectError(await through('https://upstream.invalid', client), 502, 'upstream_unreachable');
  });

  it('upstream_tls_error: a plain HTTP port behind an https:// endpoint', async () => {
    const plain = net.createServer((s) => s.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'));
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    try {
      const port = (plain.address() as net.AddressInfo).port;
      expectError(await through(`https://localhost:${port}`, client), 502, 'upstream_tls_error');
    } finally {
      plain.close();
    }
  });

  it('upstream_timeout: no TLS handshake within the configured connect timeout', async () => {
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => held.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const started = Date.now();
      const res = await through(`https://localhost:${port}`, client);
      expectError(res, 504, 'upstream_timeout');
      expect(res.json.error.message).toContain('could not connect to the upstream service in time');
      expect(Date.now() - started).toBeLessThan(5_000);
    } finally {
      for (const s of held) s.destroy();
      silent.close();
    }
  });
});

it('VAULTGATE_UPSTREAM_CA_FILE is trusted with no upstream_tls on the route', async () => {
  // Every route above has no upstream_tls: the 200s in "the good certificate gets through" already
  // rely on the CA file. Here the same on a plain server that asks for no client certificate.
  const upstream = await startUpstream({ server: serverLeaf });
  try {
    const res = await through(upstream.url.href, null);
    expect(res.status, res.body.toString()).toBe(200);
    expect(res.json).toMatchObject({ clientCn: null, url: '/callback' });
  } finally {
    await upstream.close();
  }
});
