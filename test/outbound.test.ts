/**
 * The outbound forward proxy (SPEC §4): authentication, interception with real clients (curl over
 * plain and TLS proxy ports, Python's urllib, raw sockets), the process's own listeners, leaf minting.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TLSSocket } from 'node:tls';
import { describe, expect, test } from 'vitest';
import { basic, openTunnel, rawConnect, run } from './helpers/outbound-client.js';
import { fetchVia, upload, useOutboundFixture } from './helpers/outbound-fixture.js';
import { startOutboundHarness } from './helpers/outbound-harness.js';
import { issue, type PeerReport } from './helpers/tls-upstream.js';

const f = useOutboundFixture();

describe('authentication', () => {
  test('CONNECT without, with a wrong, an inactive or a deleted credential gets 407', async () => {
    const cred = await f.h.credential(f.vault.id);
    const check = async (headers: Record<string, string>): Promise<void> => {
      const answer = await rawConnect(f.h.port, `localhost:${f.upstream.port}`, headers);
      answer.socket.destroy();
      expect(answer.status).toBe(407);
      expect(answer.headers['proxy-authenticate']).toBe('Basic realm="vaultgate"');
      expect(answer.headers['x-vaultgate-error']).toBe('proxy_auth_required');
      expect(JSON.parse(answer.body).error.code).toBe('proxy_auth_required');
    };
    await check({});
    await check({ 'Proxy-Authorization': basic({ ...cred, password: 'wrong' }) });
    await check({ 'Proxy-Authorization': 'Bearer nope' });
    const ok = await rawConnect(f.h.port, `localhost:${f.upstream.port}`, {
      'Proxy-Authorization': basic(cred),
    });
    ok.socket.destroy();
    expect(ok.status).toBe(200);

    expect(
      (await f.h.t.api('PATCH', `/vaults/${f.vault.id}/credentials/${cred.id}`, { status: 'inactive' }))
        .status,
    ).toBe(200);
    await check({ 'Proxy-Authorization': basic(cred) });
    expect((await f.h.t.api('DELETE', `/vaults/${f.vault.id}/credentials/${cred.id}`)).status).toBe(204);
    await check({ 'Proxy-Authorization': basic(cred) });
  });

  test('an address that keeps guessing gets 429 with Retry-After, and its right credential still gets in', async () => {
    const own = await startOutboundHarness({ env: { VAULTGATE_AUTH_FAILURES_PER_MINUTE: '2' } });
    try {
      const v = await own.vault();
      const cred = await own.credential(v.id);
      for (let i = 0; i < 2; i++) {
        const guess = await rawConnect(own.port, 'localhost:443', {
          'Proxy-Authorization': basic({ ...cred, password: `guess${i}` }),
        });
        guess.socket.destroy();
        expect(guess.status).toBe(407);
      }
      const refused = await rawConnect(own.port, 'localhost:443', {
        'Proxy-Authorization': basic({ ...cred, password: 'guess2' }),
      });
      refused.socket.destroy();
      expect(refused.status).toBe(429);
      expect(refused.headers['x-vaultgate-error']).toBe('too_many_requests');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      const wrongAbsolute = await fetchVia(own.port, 'http://127.0.0.1:1/', {
        'Proxy-Authorization': basic({ ...cred, password: 'guess3' }),
      });
      expect(wrongAbsolute.status).toBe(429);
      // Issue 13: a correct credential is never refused because of failures from its address.
      const right = await rawConnect(own.port, 'localhost:443', { 'Proxy-Authorization': basic(cred) });
      right.socket.destroy();
      expect(right.status).toBe(200);
      const absolute = await fetchVia(own.port, 'http://127.0.0.1:1/', {
        'Proxy-Authorization': basic(cred),
      });
      expect(absolute.status).toBe(502); // authenticated, then nothing listens on port 1
    } finally {
      await own.stop();
    }
  });

  test('absolute-form requests without valid credentials get 407', async () => {
    const res = await fetchVia(f.h.port, 'http://127.0.0.1:1/x', {});
    expect(res.status).toBe(407);
    expect(res.headers['proxy-authenticate']).toBe('Basic realm="vaultgate"');
    expect(res.headers['x-vaultgate-error']).toBe('proxy_auth_required');
  });

  test('a malformed CONNECT target gets 400 with a message', async () => {
    const cred = await f.h.credential(f.vault.id);
    for (const target of ['localhost', 'localhost:99999', 'bad_host!:443', '[::1:443']) {
      const answer = await rawConnect(f.h.port, target, { 'Proxy-Authorization': basic(cred) });
      answer.socket.destroy();
      expect(answer.status, target).toBe(400);
      expect(JSON.parse(answer.body).error.message).toMatch(/host/i);
    }
  });
});

describe('real clients through the interception', () => {
  test('curl -x with the outbound CA reaches the upstream with the credential certificate', async () => {
    const cred = await f.h.credential(f.vault.id);
    const a = await issue({ cn: 'client-curl', issuer: f.clientRoot });
    await upload(f, cred, a);
    const proxy = `http://${cred.username}:${cred.password}@127.0.0.1:${f.h.port}`;
    const out = await run('curl', [
      '-sS',
      '-x',
      proxy,
      '--cacert',
      f.vault.caFile,
      `https://localhost:${f.upstream.port}/hello?x=1`,
    ]);
    expect(out.stderr).toBe('');
    const report = JSON.parse(out.stdout) as PeerReport;
    expect(report.clientCn).toBe('client-curl');
    expect(report.clientIssuerCn).toBe('client root'); // sent with its chain
    expect(report.url).toBe('/hello?x=1');
    expect(report.headers['proxy-authorization']).toBeUndefined();

    // HTTPS_PROXY, as users set it, and an IP literal (the leaf carries an IP SAN).
    const viaEnv = await run(
      'curl',
      ['-sS', '--cacert', f.vault.caFile, `https://127.0.0.1:${f.upstream.port}/ip`],
      { HTTPS_PROXY: proxy, https_proxy: proxy },
    );
    expect(viaEnv.stderr).toBe('');
    expect((JSON.parse(viaEnv.stdout) as PeerReport).clientCn).toBe('client-curl');
  });

  test('the process serves the proxy on its own ports (ports.json), plain and over TLS', async () => {
    const cred = await f.h.credential(f.vault.id);
    await upload(f, cred, await issue({ cn: 'client-process', issuer: f.clientRoot }));
    const ports = JSON.parse(readFileSync(join(f.h.t.dataDir, 'ports.json'), 'utf8')) as Record<
      string,
      number
    >;
    expect(ports.outbound).toBe(f.h.t.vg.ports.outbound);
    const userinfo = `${cred.username}:${cred.password}`;
    for (const proxy of [
      ['-x', `http://${userinfo}@127.0.0.1:${ports.outbound}`],
      ['--proxy', `https://${userinfo}@localhost:${ports.outbound_tls}`, '--proxy-cacert', f.h.localCaFile],
    ]) {
      const out = await run('curl', [
        '-sS',
        ...proxy,
        '--cacert',
        f.vault.caFile,
        `https://localhost:${f.upstream.port}/p`,
      ]);
      expect(out.stderr).toBe('');
      expect((JSON.parse(out.stdout) as PeerReport).clientCn).toBe('client-process');
    }
  });

  test('TLS to the proxy: curl --proxy https://… with the local CA', async () => {
    const cred = await f.h.credential(f.vault.id);
    await upload(f, cred, await issue({ cn: 'client-tls-proxy', issuer: f.clientRoot }));
    const out = await run('curl', [
      '-sS',
      '--proxy',
      `https://${cred.username}:${cred.password}@localhost:${f.h.tlsPort}`,
      '--proxy-cacert',
      f.h.localCaFile,
      '--cacert',
      f.vault.caFile,
      `https://localhost:${f.upstream.port}/over-tls`,
    ]);
    expect(out.stderr).toBe('');
    expect((JSON.parse(out.stdout) as PeerReport).clientCn).toBe('client-tls-proxy');
    // And a refusal over TLS still says 407.
    const refused = await rawConnect(
      f.h.tlsPort,
      `localhost:${f.upstream.port}`,
      {},
      { tlsCa: f.h.localCaPem },
    );
    refused.socket.destroy();
    expect(refused.status).toBe(407);
  });

  test("Python's urllib with a ProxyHandler and an SSL context trusting the outbound CA", async () => {
    const cred = await f.h.credential(f.vault.id);
    await upload(f, cred, await issue({ cn: 'client-python', issuer: f.clientRoot }));
    const script = [
      'import json, ssl, sys, urllib.request',
      'proxy, ca, url = sys.argv[1:4]',
      'ctx = ssl.create_default_context(cafile=ca)',
      "opener = urllib.request.build_opener(urllib.request.ProxyHandler({'https': proxy}), urllib.request.HTTPSHandler(context=ctx))",
      'print(opener.open(url, timeout=10).read().decode())',
    ].join('\n');
    const out = await run('python3', [
      '-c',
      script,
      `http://${cred.username}:${cred.password}@127.0.0.1:${f.h.port}`,
      f.vault.caFile,
      `https://localhost:${f.upstream.port}/py`,
    ]);
    expect(out.stderr).toBe('');
    expect((JSON.parse(out.stdout) as PeerReport).clientCn).toBe('client-python');
  });
});

describe('leaf certificates', () => {
  test('100 concurrent first CONNECTs to one new host mint one leaf', async () => {
    const v = await f.h.vault('burst');
    const cred = await f.h.credential(v.id);
    const mintedBefore = await f.h.metric('vaultgate_outbound_leaf_certificates_minted_total');
    const sockets: TLSSocket[] = await Promise.all(
      Array.from({ length: 100 }, () =>
        openTunnel({ port: f.h.port, cred, target: 'burst.example:443', ca: v.caPem }),
      ),
    );
    const fingerprints = new Set(
      sockets.map((s) => new X509Certificate(s.getPeerCertificate(true).raw).fingerprint256),
    );
    const leaf = new X509Certificate(sockets[0]!.getPeerCertificate(true).raw);
    for (const s of sockets) s.destroy();
    expect(fingerprints.size).toBe(1); // every serial is random: one fingerprint means one mint
    expect((await f.h.metric('vaultgate_outbound_leaf_certificates_minted_total')) - mintedBefore).toBe(1);
    expect(leaf.subjectAltName).toBe('DNS:burst.example');
    expect(leaf.checkIssued(new X509Certificate(v.caPem))).toBe(true);
  });
});
