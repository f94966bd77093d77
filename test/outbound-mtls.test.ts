/**
 * Which client certificate the outbound proxy presents (SPEC §4): per credential, host scoping,
 * rotation, deletion under keep-alive, validity, deactivation inside an open tunnel — against an
 * upstream that demands a client certificate and reports the one it received.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { describe, expect, test } from 'vitest';
import { silentLogger } from '../src/observability/logger.js';
import { createOutboundServers } from '../src/proxy/outbound/index.js';
import { basic, get, openTunnel, rawConnect, TunnelAgent } from './helpers/outbound-client.js';
import { undiciGet, upload, useOutboundFixture, waitFor } from './helpers/outbound-fixture.js';
import { startOutboundHarness } from './helpers/outbound-harness.js';
import { issue, startTlsUpstream, type PeerReport } from './helpers/tls-upstream.js';

const f = useOutboundFixture();

describe('client certificates chosen by credential (SPEC §4)', () => {
  test('two credentials of one vault present two different certificates to the same upstream (undici ProxyAgent)', async () => {
    const [c1, c2, none] = [
      await f.h.credential(f.vault.id),
      await f.h.credential(f.vault.id),
      await f.h.credential(f.vault.id),
    ];
    const a = await issue({ cn: 'client-a', issuer: f.clientRoot });
    const b = await issue({ cn: 'client-b', issuer: f.clientRoot });
    await upload(f, c1, a);
    await upload(f, c2, b);
    const [r1, r2] = await Promise.all([
      undiciGet(f, c1, `https://localhost:${f.upstream.port}/a`),
      undiciGet(f, c2, `https://localhost:${f.upstream.port}/b`),
    ]);
    expect(r1.json.clientFingerprint256).toBe(a.fingerprint256);
    expect(r2.json.clientFingerprint256).toBe(b.fingerprint256);

    const r3 = await undiciGet(f, none, `https://localhost:${f.upstream.port}/none`);
    expect(r3.status).toBe(502);
    expect(r3.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
    expect(r3.json.error?.code).toBe('upstream_client_certificate_rejected');
    const line = f.h.logs.find((l) => l.msg === 'outbound request failed' && l.credential_id === none.id);
    expect(line).toMatchObject({
      vault_id: f.vault.id,
      host: 'localhost',
      status: 502,
      certificate_id: null,
      error: 'upstream_client_certificate_rejected',
    });
    const ok = f.h.logs.find((l) => l.msg === 'outbound request' && l.credential_id === c1.id);
    expect(ok).toMatchObject({ status: 200, upstream_status: 200, host: 'localhost' });
    expect(typeof ok?.certificate_id).toBe('string');
    expect(JSON.stringify(f.h.logs)).not.toMatch(/PRIVATE KEY/);
  });

  test.each(['TLSv1.2', 'TLSv1.3'] as const)(
    '%s: no certificate, or one the upstream does not accept, is upstream_client_certificate_rejected',
    async (version) => {
      const up = await startTlsUpstream({
        server: await issue({ cn: 'localhost', issuer: f.root, usage: 'server', sans: ['localhost'] }),
        clientCa: [f.clientRoot.certPem],
        minVersion: version,
        maxVersion: version,
      });
      try {
        const none = await f.h.credential(f.vault.id);
        const foreign = await f.h.credential(f.vault.id);
        const otherRoot = await issue({ cn: 'other root', ca: true });
        const foreignCert = await issue({ cn: 'client-foreign', issuer: otherRoot });
        // Signed by a CA the upstream does not trust: it refuses the certificate with an alert.
        const uploaded = await f.h.t.api('POST', `/vaults/${f.vault.id}/certificates`, {
          proxy_type: 'outbound',
          credential_id: foreign.id,
          certificate: foreignCert.certPem + otherRoot.certPem,
          private_key: foreignCert.keyPem,
        });
        expect(uploaded.status).toBe(201);
        for (const cred of [none, foreign]) {
          const answer = await undiciGet(f, cred, `https://localhost:${up.port}/`);
          expect(answer.status).toBe(502);
          expect(answer.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
        }
      } finally {
        await up.close();
      }
    },
  );

  test('host scoping: a scoped certificate beats an unscoped one on its host and is presented nowhere else', async () => {
    const cred = await f.h.credential(f.vault.id);
    const scoped = await issue({ cn: 'client-scoped', issuer: f.clientRoot });
    const any = await issue({ cn: 'client-any', issuer: f.clientRoot });
    await upload(f, cred, scoped, ['localhost']);
    await upload(f, cred, any);
    expect((await undiciGet(f, cred, `https://localhost:${f.upstream.port}/`)).json.clientCn).toBe(
      'client-scoped',
    );
    expect((await undiciGet(f, cred, `https://127.0.0.1:${f.upstream.port}/`)).json.clientCn).toBe(
      'client-any',
    );

    const onlyElsewhere = await f.h.credential(f.vault.id);
    await upload(f, onlyElsewhere, await issue({ cn: 'client-elsewhere', issuer: f.clientRoot }), [
      'api.visa.example',
      '*.mastercard.example',
    ]);
    const res = await undiciGet(f, onlyElsewhere, `https://localhost:${f.upstream.port}/`);
    expect(res.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
  });

  test("an SNI that is not a host name (Go's hey sends the request's host:port) gets the CONNECT host's certificate", async () => {
    const cred = await f.h.credential(f.vault.id);
    await upload(f, cred, await issue({ cn: 'client-sni', issuer: f.clientRoot }));
    const target = `localhost:${f.upstream.port}`;
    const answer = await rawConnect(f.h.port, target, { 'Proxy-Authorization': basic(cred) });
    expect(answer.status).toBe(200);
    const secure = tls.connect({
      socket: answer.socket as Socket,
      ca: f.vault.caPem,
      servername: target,
      checkServerIdentity: (_host, cert) => tls.checkServerIdentity('localhost', cert),
    });
    await once(secure, 'secureConnect');
    expect(secure.getPeerX509Certificate()?.subjectAltName).toContain('DNS:localhost');
    secure.write('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    let text = '';
    for await (const chunk of secure) text += String(chunk);
    expect(text).toMatch(/^HTTP\/1\.1 200/);
    expect(text).toContain('client-sni');
  });

  test('PATCH of hosts applies to the next request, with the same certificate and key; a re-upload is a duplicate', async () => {
    const cred = await f.h.credential(f.vault.id);
    const cert = await issue({ cn: 'client-edited', issuer: f.clientRoot });
    const id = await upload(f, cred, cert, ['api.elsewhere.example']);
    const at = (host: string) => undiciGet(f, cred, `https://${host}:${f.upstream.port}/`);
    expect((await at('localhost')).headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');

    const path = `/vaults/${f.vault.id}/certificates/${id}`;
    const edited = await f.h.t.api('PATCH', path, { hosts: ['localhost'], description: 'edited' });
    expect(edited.status, edited.text).toBe(200);
    expect(edited.json.data).toMatchObject({ hosts: ['localhost'], description: 'edited' });
    expect(edited.json.data.fingerprint_sha256.replaceAll(':', '')).toBe(
      cert.fingerprint256.replaceAll(':', ''),
    );
    // Every worker serves the edit when PATCH answers (SPEC §4): no waiting here.
    expect((await at('localhost')).json.clientCn).toBe('client-edited');
    expect((await at('127.0.0.1')).headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');

    // The list shows the edit too (its rows are cached by revision).
    const list = await f.h.t.api('GET', `/vaults/${f.vault.id}/certificates?credential_id=${cred.id}`);
    expect(list.json.data).toMatchObject([{ id, hosts: ['localhost'], description: 'edited' }]);

    // [] presents it to any host; description null clears it.
    const cleared = await f.h.t.api('PATCH', path, { hosts: [], description: null });
    expect(cleared.json.data).toMatchObject({ hosts: [], description: null });
    expect((await at('127.0.0.1')).json.clientCn).toBe('client-edited');

    const again = await f.h.t.api('POST', `/vaults/${f.vault.id}/certificates`, {
      proxy_type: 'outbound',
      credential_id: cred.id,
      certificate: cert.certPem + f.clientRoot.certPem,
      private_key: cert.keyPem,
    });
    expect(again.status).toBe(201);
    expect(again.json.data.warnings).toContain('duplicate');
  });

  test('rotation and deletion apply at once inside an open keep-alive tunnel', async () => {
    const up = await startTlsUpstream({
      server: await issue({ cn: 'localhost', issuer: f.root, usage: 'server', sans: ['localhost'] }),
      clientCa: [f.clientRoot.certPem],
    });
    try {
      const cred = await f.h.credential(f.vault.id);
      const old = await issue({
        cn: 'client-old',
        issuer: f.clientRoot,
        notBefore: new Date(Date.now() - 2 * 86_400_000),
      });
      const renewed = await issue({
        cn: 'client-renewed',
        issuer: f.clientRoot,
        notBefore: new Date(Date.now() - 86_400_000),
      });
      await upload(f, cred, old);
      const agent = new TunnelAgent({
        port: f.h.port,
        cred,
        target: `localhost:${up.port}`,
        ca: f.vault.caPem,
      });
      const ask = async (): Promise<PeerReport> => JSON.parse((await get(agent, '/')).body) as PeerReport;
      expect((await ask()).clientCn).toBe('client-old');
      expect((await ask()).clientCn).toBe('client-old');
      expect(up.accepted()).toBe(1); // pooled f.upstream connection reused

      const renewedId = await upload(f, cred, renewed);
      expect((await ask()).clientCn).toBe('client-renewed');

      // Deleting the renewal closes the pooled connection that presented it, and the old one is back.
      expect(up.open()).toBe(2);
      expect((await f.h.t.api('DELETE', `/vaults/${f.vault.id}/certificates/${renewedId}`)).status).toBe(204);
      await waitFor(() => up.open() === 1);
      const back = await ask();
      expect(back.clientCn).toBe('client-old');
      expect(agent.tunnels).toBe(1); // all of it through one tunnel
      agent.destroy();
    } finally {
      await up.close();
    }
  });

  test('expired and not-yet-valid certificates are not presented', async () => {
    const cred = await f.h.credential(f.vault.id);
    const soon = await issue({
      cn: 'client-expiring',
      issuer: f.clientRoot,
      notAfter: new Date(Date.now() + 2500),
    });
    const future = await issue({
      cn: 'client-future',
      issuer: f.clientRoot,
      notBefore: new Date(Date.now() + 3_600_000),
      notAfter: new Date(Date.now() + 86_400_000),
    });
    await upload(f, cred, soon);
    await upload(f, cred, future);
    const agent = new TunnelAgent({
      port: f.h.port,
      cred,
      target: `localhost:${f.upstream.port}`,
      ca: f.vault.caPem,
    });
    // The future one has the later not_before but is not valid yet.
    expect((JSON.parse((await get(agent, '/')).body) as PeerReport).clientCn).toBe('client-expiring');
    await new Promise((r) => setTimeout(r, 2700));
    const after = await get(agent, '/');
    expect(after.status).toBe(502);
    expect(after.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
    agent.destroy();
  });

  test('a credential deactivated while its tunnel is open gets 407 on its next request', async () => {
    const cred = await f.h.credential(f.vault.id);
    await upload(f, cred, await issue({ cn: 'client-deactivated', issuer: f.clientRoot }));
    const agent = new TunnelAgent({
      port: f.h.port,
      cred,
      target: `localhost:${f.upstream.port}`,
      ca: f.vault.caPem,
    });
    expect((await get(agent, '/')).status).toBe(200);
    await f.h.t.api('PATCH', `/vaults/${f.vault.id}/credentials/${cred.id}`, { status: 'inactive' });
    const refused = await get(agent, '/');
    expect(refused.status).toBe(407);
    expect(refused.headers['x-vaultgate-error']).toBe('proxy_auth_required');
    expect(refused.headers.connection).toBe('close');
    agent.destroy();
  });
});

describe('shutdown', () => {
  test('close(): idle tunnels close at once, a busy one finishes its answer with Connection: close', async () => {
    const slow = await startTlsUpstream({
      server: await issue({ cn: 'localhost', issuer: f.root, usage: 'server', sans: ['localhost'] }),
      requestCert: false,
      handler: (_req, res) => setTimeout(() => res.end('late'), 300),
    });
    const servers = createOutboundServers({ ...f.h.t.vg.dataPlane, logger: silentLogger }, f.h.pools);
    await new Promise<void>((r) => servers.plain.listen(0, '127.0.0.1', r));
    const port = (servers.plain.address() as AddressInfo).port;
    try {
      const cred = await f.h.credential(f.vault.id);
      const tunnel = { port, cred, target: `localhost:${slow.port}`, ca: f.vault.caPem };
      const idle = await openTunnel(tunnel);
      const idleClosed = new Promise((r) => idle.once('close', r));
      const busy = new TunnelAgent(tunnel);
      const pending = get(busy, '/');
      await new Promise((r) => setTimeout(r, 100)); // the request is at the upstream now
      const closed = new Promise<void>((r) => servers.plain.close(() => r()));
      servers.close();
      await idleClosed;
      const answer = await pending;
      expect(answer.body).toBe('late');
      expect(answer.headers.connection).toBe('close');
      await closed; // nothing holds the listener open any more
      busy.destroy();
    } finally {
      servers.tls.close();
      await slow.close();
    }
  });

  test('a request pipelined behind the last answer of a closing tunnel is answered or never forwarded', async () => {
    const seen: string[] = [];
    const slow = await startTlsUpstream({
      server: await issue({ cn: 'localhost', issuer: f.root, usage: 'server', sans: ['localhost'] }),
      requestCert: false,
      handler: (req, res) => {
        seen.push(req.url ?? '');
        // Headers (keep-alive) go out before shutdown starts; the body follows later.
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.write('first part ');
        setTimeout(() => res.end('late'), 300);
      },
    });
    const servers = createOutboundServers({ ...f.h.t.vg.dataPlane, logger: silentLogger }, f.h.pools);
    await new Promise<void>((r) => servers.plain.listen(0, '127.0.0.1', r));
    const port = (servers.plain.address() as AddressInfo).port;
    try {
      const cred = await f.h.credential(f.vault.id);
      const socket = await openTunnel({ port, cred, target: `localhost:${slow.port}`, ca: f.vault.caPem });
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()));
      const closed = new Promise((r) => socket.once('close', r));
      // Two pipelined requests: the second is parsed only after the first answer is complete.
      socket.write(
        'GET /first HTTP/1.1\r\nHost: localhost\r\n\r\nGET /second HTTP/1.1\r\nHost: localhost\r\n\r\n',
      );
      await waitFor(() => seen.includes('/first'));
      await new Promise((r) => setTimeout(r, 50)); // the first answer's head has gone out
      servers.close();
      await closed;
      expect(received).toContain('late');
      // Every request the upstream saw got its answer back; none was forwarded and then cut off.
      await new Promise((r) => setTimeout(r, 200));
      expect(seen[0]).toBe('/first');
      expect(received.split('HTTP/1.1 200').length - 1).toBe(seen.length);
    } finally {
      servers.tls.close();
      await slow.close();
    }
  });

  test('the process stops at once although a client keeps a tunnel open', async () => {
    const own = await startOutboundHarness();
    try {
      const v = await own.vault();
      const cred = await own.credential(v.id);
      const socket = await openTunnel({
        port: own.t.vg.ports.outbound,
        cred,
        target: 'idle.example:443',
        ca: v.caPem,
      });
      const closed = new Promise((r) => socket.once('close', r));
      const started = Date.now();
      await own.t.vg.stop(5000);
      expect(Date.now() - started).toBeLessThan(2000);
      await closed;
    } finally {
      await own.stop();
    }
  });
});
