/**
 * The outbound proxy's hygiene and failures: hop-by-hop and proxy headers never reach the upstream
 * (inside a tunnel and in absolute-form), request-target forms inside a tunnel, SPEC §5 errors as HTTP
 * answers inside the tunnel, trust toward upstreams, and the log line for a client that does not
 * trust the interception certificate.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { Socket } from 'node:net';
import tls from 'node:tls';
import { describe, expect, test } from 'vitest';
import { basic, get, openTunnel, rawConnect, run, TunnelAgent } from './helpers/outbound-client.js';
import { upload, useOutboundFixture, waitFor } from './helpers/outbound-fixture.js';
import { startOutboundHarness } from './helpers/outbound-harness.js';
import { closedPort, issue, startTlsUpstream, type PeerReport } from './helpers/tls-upstream.js';

const f = useOutboundFixture();

describe('header hygiene, plain HTTP, errors', () => {
  test('Proxy-Authorization and hop-by-hop headers never reach the upstream (tunnel and absolute-form)', async () => {
    const cred = await f.h.credential(f.vault.id);
    await upload(f, cred, await issue({ cn: 'client-hygiene', issuer: f.clientRoot }));
    const agent = new TunnelAgent({
      port: f.h.port,
      cred,
      target: `localhost:${f.upstream.port}`,
      ca: f.vault.caPem,
    });
    const inside = JSON.parse(
      (
        await get(agent, '/h', {
          'proxy-authorization': basic(cred),
          connection: 'x-private',
          'x-private': '1',
          'proxy-connection': 'keep-alive',
          'x-kept': 'yes',
        })
      ).body,
    ) as PeerReport;
    agent.destroy();
    expect(inside.headers['proxy-authorization']).toBeUndefined();
    expect(inside.headers['x-private']).toBeUndefined();
    expect(inside.headers['proxy-connection']).toBeUndefined();
    expect(inside.headers['x-kept']).toBe('yes');

    const seen: http.IncomingHttpHeaders[] = [];
    const plainUp = http.createServer((req, res) => {
      seen.push(req.headers);
      res.end(`plain ${req.url}`);
    });
    await new Promise<void>((r) => plainUp.listen(0, '127.0.0.1', r));
    const plainPort = (plainUp.address() as { port: number }).port;
    try {
      const out = await run('curl', [
        '-sS',
        '-H',
        'X-Kept: yes',
        '-x',
        `http://${cred.username}:${cred.password}@127.0.0.1:${f.h.port}`,
        `http://127.0.0.1:${plainPort}/p?q=1`,
      ]);
      expect(out.stdout).toBe('plain /p?q=1');
      expect(seen[0]?.['proxy-authorization']).toBeUndefined();
      expect(seen[0]?.['proxy-connection']).toBeUndefined();
      expect(seen[0]?.['x-kept']).toBe('yes');
      expect(seen[0]?.host).toBe(`127.0.0.1:${plainPort}`);
    } finally {
      plainUp.close();
    }
  });

  test('inside a tunnel, absolute-form keeps only its path; OPTIONS * is refused with 400', async () => {
    const cred = await f.h.credential(f.vault.id);
    await upload(f, cred, await issue({ cn: 'client-forms', issuer: f.clientRoot }));
    const socket = await openTunnel({
      port: f.h.port,
      cred,
      target: `localhost:${f.upstream.port}`,
      ca: f.vault.caPem,
    });
    const exchange = (request: string): Promise<string> =>
      new Promise((resolve) => {
        let text = '';
        const onData = (chunk: Buffer): void => {
          text += chunk.toString();
          const end = text.indexOf('\r\n\r\n');
          const length = /content-length: (\d+)/i.exec(text);
          if (end !== -1 && length && text.length >= end + 4 + Number(length[1])) {
            socket.off('data', onData);
            resolve(text);
          }
        };
        socket.on('data', onData);
        socket.write(request);
      });
    const abs = await exchange(`GET https://elsewhere.example/abs?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n`);
    expect(abs).toMatch(/^HTTP\/1\.1 200/);
    expect(abs).toContain('"url":"/abs?x=1"');
    const star = await exchange('OPTIONS * HTTP/1.1\r\nHost: localhost\r\n\r\n');
    expect(star).toMatch(/^HTTP\/1\.1 400/);
    expect(star).toMatch(/x-vaultgate-error: invalid_target/i);
    socket.destroy();
  });

  test('upstream errors are HTTP answers inside the tunnel with x-vaultgate-error', async () => {
    const cred = await f.h.credential(f.vault.id);
    const dead = await closedPort();
    const out = await run('curl', [
      '-sS',
      '-i',
      '-x',
      `http://${cred.username}:${cred.password}@127.0.0.1:${f.h.port}`,
      '--cacert',
      f.vault.caFile,
      `https://localhost:${dead}/`,
    ]);
    expect(out.stdout).toMatch(/^HTTP\/1\.1 200 Connection Established/);
    expect(out.stdout).toMatch(/HTTP\/1\.1 502/);
    expect(out.stdout).toMatch(/x-vaultgate-error: upstream_unreachable/i);
    expect(out.stdout).toMatch(/"code":"upstream_unreachable"/);
  });

  test('an untrusted upstream gets upstream_certificate_untrusted until an outbound route trusts its CA', async () => {
    const privateRoot = await issue({ cn: 'private root', ca: true });
    const up = await startTlsUpstream({
      server: await issue({ cn: 'localhost', issuer: privateRoot, usage: 'server', sans: ['localhost'] }),
      requestCert: false,
    });
    try {
      const cred = await f.h.credential(f.vault.id);
      const agent = new TunnelAgent({
        port: f.h.port,
        cred,
        target: `localhost:${up.port}`,
        ca: f.vault.caPem,
      });
      const refused = await get(agent, '/');
      expect(refused.status).toBe(502);
      expect(refused.headers['x-vaultgate-error']).toBe('upstream_certificate_untrusted');
      const route = await f.h.t.api('POST', `/vaults/${f.vault.id}/routes`, {
        destination_override_endpoint: '*',
        host_endpoint: 'localhost',
        upstream_tls: { ca_pem: privateRoot.certPem },
      });
      expect(route.status).toBe(201);
      expect((await get(agent, '/')).status).toBe(200); // same tunnel, next request
      agent.destroy();
      await f.h.t.api('DELETE', `/vaults/${f.vault.id}/routes/${route.json.data.id as string}`);
    } finally {
      await up.close();
    }
  });

  test('a client that does not trust the outbound CA fails its handshake, and one clear line is logged', async () => {
    const cred = await f.h.credential(f.vault.id);
    const before = f.h.logs.length;
    const out = await run('curl', [
      '-sS',
      '-x',
      `http://${cred.username}:${cred.password}@127.0.0.1:${f.h.port}`,
      `https://localhost:${f.upstream.port}/`,
    ]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/certificate/i);
    await waitFor(() =>
      f.h.logs.slice(before).some((l) => String(l.msg).includes('rejected the interception certificate')),
    );
    const lines = f.h.logs.slice(before).filter((l) => String(l.msg).includes('interception certificate'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toBe(
      `the client rejected the interception certificate for localhost; it must trust the vault's outbound CA (GET /api/v1/vaults/${f.vault.id}/outbound-ca)`,
    );
  });
});

describe('tunnel lifetime', () => {
  test('a client that half-closes the TCP connection right after the TLS handshake has its tunnel closed, not left open against its address', async () => {
    const h = await startOutboundHarness({
      upstreamCaPem: f.root.certPem,
      env: { VAULTGATE_MAX_CONNECTIONS_PER_CLIENT: '4' },
    });
    try {
      const vault = await h.vault();
      const cred = await h.credential(vault.id);
      // Three times the per-address cap: a tunnel left open counts against the client's address, so
      // the fifth CONNECT would be refused. Each client sends a bare TCP FIN after the handshake (no
      // close_notify, no request), as a connection dropped by a client library can.
      for (let i = 0; i < 12; i++) {
        const answer = await rawConnect(h.port, `localhost:${f.upstream.port}`, {
          'Proxy-Authorization': basic(cred),
        });
        expect(answer.status, `CONNECT ${i + 1}: ${answer.body}`).toBe(200);
        const raw = answer.socket as Socket;
        const secure = tls.connect({ socket: raw, ca: vault.caPem, servername: 'localhost' });
        await once(secure, 'secureConnect');
        secure.resume();
        raw.end();
        // vaultgate closes its side in answer; a tunnel kept half-open would never get here.
        await once(secure, 'close');
      }
    } finally {
      await h.stop();
    }
  });
});
