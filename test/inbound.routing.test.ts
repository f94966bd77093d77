/**
 * Inbound proxy, end to end: how a request on `<vault_id>.sandbox.localhost` finds its route, what the
 * upstream receives (path, query, Host, hop-by-hop hygiene, X-Forwarded-*), route edits taking effect,
 * and the route's `upstream_tls` trust settings (SPEC §2 Routes, §3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInbound, type InboundFixture } from './helpers/inbound-fixture.js';
import { startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { makeCa, makeLeaf, type Issued } from './helpers/pki-fixtures.js';

let f: InboundFixture;
let serverRoot: Issued;
let upstream: Upstream;
let other: Upstream;

beforeAll(async () => {
  serverRoot = makeCa({ cn: 'Routing Upstream Root' });
  const serverLeaf = makeLeaf({
    issuer: serverRoot,
    cn: 'localhost',
    eku: ['serverAuth'],
    sans: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  upstream = await startUpstream({ server: serverLeaf });
  other = await startUpstream({ server: serverLeaf });
  f = await startInbound();
});
afterAll(async () => {
  await f?.stop();
  await upstream?.close();
  await other?.close();
});

const trust = (): { ca_pem: string } => ({ ca_pem: serverRoot.certPem });

describe('route matching', () => {
  it('tries the vault routes in creation order; the first whose host_endpoint matches the whole host wins', async () => {
    const v = await f.vault();
    const base = upstream.url.origin;
    // Matches only a substring of the host: a full match is required, so it must be skipped.
    await f.route(v.id, {
      destination_override_endpoint: `${base}/partial`,
      host_endpoint: 'sandbox',
      upstream_tls: trust(),
    });
    const second = await f.route(v.id, {
      destination_override_endpoint: `${base}/second`,
      host_endpoint: 'TNT[a-z0-9]+\\.sandbox\\.localhost', // case-insensitive, as DNS names are
      upstream_tls: trust(),
    });
    await f.route(v.id, {
      destination_override_endpoint: `${base}/catch-all`,
      host_endpoint: '(.*)',
      upstream_tls: trust(),
    });
    expect((await f.report(v.host, { path: '/x' })).url).toBe('/second/x');

    const del = await f.api('DELETE', `/vaults/${v.id}/routes/${second}`);
    expect(del.status).toBe(204);
    expect((await f.report(v.host, { path: '/x' })).url).toBe('/catch-all/x');
  });

  it('404 vault_not_found for a host no vault serves, 404 route_not_found when no route matches', async () => {
    const unknown = await f.request('tnt00000000.sandbox.localhost');
    expect(unknown.status).toBe(404);
    expect(unknown.headers['x-vaultgate-error']).toBe('vault_not_found');
    expect(unknown.json).toMatchObject({ error: { code: 'vault_not_found' } });
    expect(unknown.json.error.message).toContain('tnt00000000.sandbox.localhost');

    const v = await f.vault();
    const empty = await f.request(v.host);
    expect(empty.status).toBe(404);
    expect(empty.headers['x-vaultgate-error']).toBe('route_not_found');

    await f.route(v.id, {
      destination_override_endpoint: upstream.url.href,
      host_endpoint: 'api\\.example\\.com',
      upstream_tls: trust(),
    });
    const unmatched = await f.request(v.host);
    expect(unmatched.status).toBe(404);
    expect(unmatched.headers['x-vaultgate-error']).toBe('route_not_found');
    expect(unmatched.json.error.code).toBe('route_not_found');
    // An outbound route of the same vault is never used for inbound traffic.
    await f.route(v.id, { destination_override_endpoint: '*', host_endpoint: '(.*)' });
    expect((await f.request(v.host)).headers['x-vaultgate-error']).toBe('route_not_found');
  });

  it('a route change (PUT) applies to the next request', async () => {
    const v = await f.vault();
    const id = await f.route(v.id, {
      destination_override_endpoint: `${upstream.url.origin}/v1`,
      upstream_tls: trust(),
    });
    const before = await f.report(v.host, { path: '/ping' });
    expect(before.url).toBe('/v1/ping');
    expect(before.headers['host']).toBe(`localhost:${upstream.port}`);

    const put = await f.api('PUT', `/vaults/${v.id}/routes/${id}`, {
      destination_override_endpoint: `https://127.0.0.1:${other.port}/v2`,
      upstream_tls: trust(),
    });
    expect(put.status, put.text).toBe(200);
    const after = await f.report(v.host, { path: '/ping' });
    expect(after.url).toBe('/v2/ping');
    expect(after.headers['host']).toBe(`127.0.0.1:${other.port}`);
    expect(after.servername).toBe(false); // no SNI for an IP address (RFC 6066 §3)

    // And a PUT that drops the trust anchor fails the very next request.
    const untrusting = await f.api('PUT', `/vaults/${v.id}/routes/${id}`, {
      destination_override_endpoint: `https://127.0.0.1:${other.port}/v2`,
    });
    expect(untrusting.status).toBe(200);
    expect((await f.request(v.host)).headers['x-vaultgate-error']).toBe('upstream_certificate_untrusted');
  });
});

describe('what the upstream receives', () => {
  it('path and query kept, Host set to the upstream, hop-by-hop removed, X-Forwarded-* added', async () => {
    const v = await f.vault();
    await f.route(v.id, { destination_override_endpoint: upstream.url.href, upstream_tls: trust() });
    const path = '/pay/a%2Fb/%C3%A9t%C3%A9?card=4111&empty=&dup=1&dup=2';
    const body = JSON.stringify({ amount: 1000 });
    const seen = await f.report(v.host, {
      method: 'POST',
      path,
      headers: {
        'content-type': 'application/json',
        'x-request-id': 'abc-123',
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-proto': 'http',
        connection: 'keep-alive, x-hop-secret',
        'x-hop-secret': 'only for vaultgate',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic c2VjcmV0',
        'proxy-connection': 'keep-alive',
        te: 'gzip',
        authorization: 'Bearer end-to-end',
      },
      body,
    });
    expect(seen.method).toBe('POST');
    expect(seen.url).toBe(path);
    expect(seen.bodyBytes).toBe(Buffer.byteLength(body));
    expect(seen.headers).toMatchObject({
      host: `localhost:${upstream.port}`,
      'content-type': 'application/json',
      'x-request-id': 'abc-123',
      authorization: 'Bearer end-to-end',
      'x-forwarded-for': '203.0.113.7, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': `${v.host}:${f.port}`,
    });
    const names = seen.rawHeaderNames.map((n) => n.toLowerCase());
    for (const hop of ['x-hop-secret', 'keep-alive', 'proxy-authorization', 'proxy-connection', 'te']) {
      expect(names).not.toContain(hop);
    }
    // Node's client adds its own "Connection: keep-alive" toward the pool; the caller's is not relayed.
    expect(seen.headers['connection']).not.toContain('x-hop-secret');
    expect(names.filter((n) => n === 'host')).toHaveLength(1);
  });

  it('the request target is passed byte for byte after the endpoint path (regression: it went through URL parsing)', async () => {
    const v = await f.vault();
    await f.route(v.id, {
      destination_override_endpoint: `${upstream.url.origin}/v1/`,
      upstream_tls: trust(),
    });
    // Before the fix, the quotes in a signed callback's query were percent-encoded, so a signature
    // over the URL no longer matched. (Dot segments, which URL parsing resolved, are now refused
    // outright: test/inbound.security.test.ts.)
    for (const target of ["/cb/x?sig='a\"b'&x={1}&next=/../y", '/a/%2e%2e.b?%ZZ', '//double//slash']) {
      expect((await f.report(v.host, { path: target })).url).toBe(`/v1${target}`);
    }
  });
});

describe('upstream_tls', () => {
  it('ca_pem is what makes a private upstream CA trusted', async () => {
    const v = await f.vault();
    const id = await f.route(v.id, { destination_override_endpoint: upstream.url.href });
    const untrusted = await f.request(v.host);
    expect(untrusted.status).toBe(502);
    expect(untrusted.headers['x-vaultgate-error']).toBe('upstream_certificate_untrusted');
    await f.api('PUT', `/vaults/${v.id}/routes/${id}`, {
      destination_override_endpoint: upstream.url.href,
      upstream_tls: trust(),
    });
    expect((await f.report(v.host)).protocol).toMatch(/^TLSv1\.[23]$/);
  });

  it('verify: false accepts a server certificate nobody vouches for', async () => {
    const selfSigned = makeLeaf({ cn: 'localhost', eku: ['serverAuth'], sans: ['DNS:localhost'] });
    const rogue = await startUpstream({ server: selfSigned });
    try {
      const v = await f.vault();
      const id = await f.route(v.id, {
        destination_override_endpoint: rogue.url.href,
        upstream_tls: { verify: false },
      });
      expect((await f.report(v.host, { path: '/unverified' })).url).toBe('/unverified');
      await f.api('PUT', `/vaults/${v.id}/routes/${id}`, {
        destination_override_endpoint: rogue.url.href,
        upstream_tls: { verify: true },
      });
      expect((await f.request(v.host)).headers['x-vaultgate-error']).toBe('upstream_certificate_untrusted');
    } finally {
      await rogue.close();
    }
  });

  it('servername sets the SNI and the name the server certificate is checked against', async () => {
    const named = makeLeaf({
      issuer: serverRoot,
      cn: 'api.internal.example',
      eku: ['serverAuth'],
      sans: ['DNS:api.internal.example'],
    });
    const internal = await startUpstream({ server: named });
    try {
      const v = await f.vault();
      const id = await f.route(v.id, {
        destination_override_endpoint: `https://127.0.0.1:${internal.port}`,
        upstream_tls: { ...trust(), servername: 'api.internal.example' },
      });
      const seen = await f.report(v.host);
      expect(seen.servername).toBe('api.internal.example');
      expect(seen.headers['host']).toBe(`127.0.0.1:${internal.port}`);

      await f.api('PUT', `/vaults/${v.id}/routes/${id}`, {
        destination_override_endpoint: `https://127.0.0.1:${internal.port}`,
        upstream_tls: trust(),
      });
      const mismatch = await f.request(v.host);
      expect(mismatch.status).toBe(502);
      expect(mismatch.headers['x-vaultgate-error']).toBe('upstream_certificate_untrusted');
      // Generic for the inbound caller; the hint at upstream_tls.servername is in the log line.
      expect(mismatch.json.error.message).toContain("could not verify the upstream's server certificate");
    } finally {
      await internal.close();
    }
  });
});
