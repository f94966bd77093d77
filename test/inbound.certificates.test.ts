/**
 * Inbound proxy, end to end: which client certificate the running vaultgate presents to a route's
 * upstream, how uploads and deletes through the management API change that at once, and what happens
 * to pooled and in-flight upstream connections when a certificate is deleted (SPEC §3, §4).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInbound, type InboundFixture } from './helpers/inbound-fixture.js';
import { fingerprintOf, startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { makeCa, makeLeaf, type Issued, type KeyKind } from './helpers/pki-fixtures.js';

const DAY = 86_400_000;

let f: InboundFixture;
let vault: { id: string; host: string };
let upstream: Upstream;
let clientRoot: Issued;
let clientIntermediate: Issued;
let serverRoot: Issued;

async function until(check: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A route on its own vault (so its host selects only it) to the shared upstream. */
async function freshRoute(): Promise<{ vaultId: string; host: string; routeId: string }> {
  const v = await f.vault();
  const routeId = await f.route(v.id, {
    destination_override_endpoint: upstream.url.href,
    upstream_tls: { ca_pem: serverRoot.certPem },
  });
  return { vaultId: v.id, host: v.host, routeId };
}

beforeAll(async () => {
  clientRoot = makeCa({ cn: 'Inbound Client Root' });
  clientIntermediate = makeCa({ cn: 'Inbound Client Intermediate', issuer: clientRoot });
  serverRoot = makeCa({ cn: 'Inbound Upstream Root' });
  const serverLeaf = makeLeaf({
    issuer: serverRoot,
    cn: 'localhost',
    eku: ['serverAuth'],
    sans: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  // The upstream trusts only the client root: a leaf issued by the intermediate is accepted only
  // when the intermediate travels with it in the handshake.
  upstream = await startUpstream({ server: serverLeaf, clientCa: [clientRoot.certPem], holdPrefix: '/slow' });
  // One worker: these tests watch one data-plane process's upstream pool connection by connection
  // (reuse, a second connection for a concurrent request, which one closes on delete). With two
  // workers each holds its own pool and the kernel picks the worker per client connection; that
  // every worker follows a change before the API answers is tested in test/workers.test.ts.
  f = await startInbound({ VAULTGATE_WORKERS: '1' });
  vault = await f.vault();
});
afterAll(async () => {
  await f?.stop();
  await upstream?.close();
});

describe('the route certificate is presented to the upstream', () => {
  it.each<[string, KeyKind]>([
    ['RSA 2048', 'rsa2048'],
    ['ECDSA P-256', 'p256'],
    ['Ed25519', 'ed25519'],
  ])('%s', async (_name, keyType) => {
    const leaf = makeLeaf({ issuer: clientRoot, cn: `inbound-${keyType}`, keyType });
    const r = await freshRoute();
    await f.upload(r.vaultId, r.routeId, leaf);
    const seen = await f.report(r.host, { path: '/who' });
    expect(seen).toMatchObject({
      authorized: true,
      clientCn: `inbound-${keyType}`,
      clientFingerprint256: fingerprintOf(leaf.certPem),
      url: '/who',
    });
  });

  it('a certificate issued by an intermediate, sent with its chain (and refused without it)', async () => {
    const leaf = makeLeaf({ issuer: clientIntermediate, cn: 'inbound-via-intermediate' });
    const withChain = await freshRoute();
    await f.upload(withChain.vaultId, withChain.routeId, leaf);
    const seen = await f.report(withChain.host);
    expect(seen).toMatchObject({
      authorized: true,
      clientFingerprint256: fingerprintOf(leaf.certPem),
      clientIssuerCn: 'Inbound Client Intermediate',
    });

    // The same leaf uploaded alone (vaultgate warns incomplete_chain): the upstream cannot build a
    // path to its root and refuses it — proof that the accepted case above depended on the chain.
    const leafOnly = await freshRoute();
    await f.upload(leafOnly.vaultId, leafOnly.routeId, leaf, false);
    const refused = await f.request(leafOnly.host);
    expect(refused.status).toBe(502);
    expect(refused.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
    expect(refused.json.error.code).toBe('upstream_client_certificate_rejected');
  });
});

describe('changes apply at once', () => {
  it('a renewed certificate takes over at the next request; the old one is back after the renewed is deleted', async () => {
    const r = await freshRoute();
    const old = makeLeaf({
      issuer: clientRoot,
      cn: 'inbound-rotating',
      keySlot: 'rotating-old',
      notBefore: new Date(Date.now() - 30 * DAY),
    });
    const renewed = makeLeaf({
      issuer: clientRoot,
      cn: 'inbound-rotating',
      keySlot: 'rotating-new',
      notBefore: new Date(Date.now() - 60_000),
    });
    await f.upload(r.vaultId, r.routeId, old);
    const first = await f.report(r.host);
    const second = await f.report(r.host);
    expect(first.clientFingerprint256).toBe(fingerprintOf(old.certPem));
    expect(second.clientFingerprint256).toBe(fingerprintOf(old.certPem));
    expect(second.connection).toBe(first.connection); // kept alive and reused

    const renewedId = (await f.upload(r.vaultId, r.routeId, renewed)).id;
    const afterUpload = await f.report(r.host);
    expect(afterUpload.clientFingerprint256).toBe(fingerprintOf(renewed.certPem));
    // A new identity means a new connection: the old one's pooled connection is not borrowed.
    expect(afterUpload.connection).not.toBe(first.connection);

    await f.remove(r.vaultId, renewedId);
    const afterDelete = await f.report(r.host);
    expect(afterDelete.clientFingerprint256).toBe(fingerprintOf(old.certPem));
    await until(
      () => !upstream.openConnections().includes(afterUpload.connection),
      'the renewed pool closed',
    );
  });

  it('a delete under keep-alive closes the pooled connection, spares the in-flight request, and never presents it again', async () => {
    const r = await freshRoute();
    const older = makeLeaf({
      issuer: clientRoot,
      cn: 'inbound-keepalive-older',
      notBefore: new Date(Date.now() - 30 * DAY),
    });
    const current = makeLeaf({ issuer: clientRoot, cn: 'inbound-keepalive-current' });
    await f.upload(r.vaultId, r.routeId, older);
    const currentId = (await f.upload(r.vaultId, r.routeId, current)).id;
    const currentFp = fingerprintOf(current.certPem);

    const warm = await f.report(r.host);
    expect(warm.clientFingerprint256).toBe(currentFp);
    // The slow request takes the idle pooled connection; a concurrent one needs a second connection,
    // which stays idle in the pool afterwards.
    const slow = f.request(r.host, { path: '/slow/upload-in-progress' });
    await upstream.held(1);
    const parallel = await f.report(r.host);
    expect(parallel.clientFingerprint256).toBe(currentFp);
    const busy = warm.connection;
    const idle = parallel.connection;
    expect(idle).not.toBe(busy);
    expect(upstream.openConnections()).toEqual(expect.arrayContaining([busy, idle]));

    await f.remove(r.vaultId, currentId);
    await until(() => !upstream.openConnections().includes(idle), 'the idle pooled connection closed');
    expect(upstream.openConnections()).toContain(busy); // the in-flight request is not cut

    const next = await f.report(r.host);
    expect(next.clientFingerprint256).toBe(fingerprintOf(older.certPem));
    expect([busy, idle]).not.toContain(next.connection);

    upstream.release();
    const finished = await slow;
    expect(finished.status).toBe(200);
    expect(finished.json).toMatchObject({ connection: busy, clientFingerprint256: currentFp });
    // Once its response is done, that connection is closed instead of going back to the pool.
    await until(
      () => !upstream.openConnections().includes(busy),
      'the in-flight connection closed after use',
    );

    for (let n = 0; n < 5; n++) {
      expect((await f.report(r.host)).clientFingerprint256).toBe(fingerprintOf(older.certPem));
    }
  });

  it('a certificate deleted from a route with no other leaves the route presenting none', async () => {
    const r = await freshRoute();
    const only = makeLeaf({ issuer: clientRoot, cn: 'inbound-only' });
    const id = (await f.upload(r.vaultId, r.routeId, only)).id;
    expect((await f.report(r.host)).clientCn).toBe('inbound-only');
    await f.remove(r.vaultId, id);
    const res = await f.request(r.host);
    expect(res.status).toBe(502);
    expect(res.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
    expect(res.json.error.message).toContain('for want of a client certificate');
  });
});

it('the inbound listener certificate verifies against GET /local-ca for a vault host', async () => {
  // The inbound listener presents a certificate for *.sandbox.localhost signed by the local CA;
  // inboundRequest verifies it (rejectUnauthorized) with the vault host as SNI.
  const res = await f.request(vault.host);
  expect(res.status).toBe(404);
  expect(res.headers['x-vaultgate-error']).toBe('route_not_found');
});
