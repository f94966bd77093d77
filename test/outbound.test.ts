/**
 * The outbound forward proxy (SPEC §4) against real upstreams that demand a client certificate and
 * report which one they received, driven by curl, undici, Python's urllib and raw sockets.
 */
import { X509Certificate } from 'node:crypto';
import http from 'node:http';
import type { TLSSocket } from 'node:tls';
import { ProxyAgent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startOutboundHarness, type OutboundHarness } from './helpers/outbound-harness.js';
import {
  basic,
  get,
  openTunnel,
  rawConnect,
  run,
  TunnelAgent,
  type Cred,
} from './helpers/outbound-client.js';
import {
  closedPort,
  issue,
  startTlsUpstream,
  type Issued,
  type PeerReport,
  type TlsUpstream,
} from './helpers/tls-upstream.js';

let h: OutboundHarness;
let root: Issued;
let clientRoot: Issued;
let upstream: TlsUpstream;
let vault: { id: string; caPem: string; caFile: string };

async function upload(cred: { id: string }, cert: Issued, hosts?: string[]): Promise<string> {
  const res = await h.t.api('POST', `/vaults/${vault.id}/certificates`, {
    proxy_type: 'outbound',
    credential_id: cred.id,
    certificate: cert.certPem + clientRoot.certPem,
    private_key: cert.keyPem,
    ...(hosts ? { hosts } : {}),
  });
  if (res.status !== 201) throw new Error(`upload: ${res.text}`);
  return res.json.data.id as string;
}

function undiciGet(
  cred: Cred,
  url: string,
  port = h.port,
): Promise<{
  status: number;
  headers: Record<string, unknown>;
  json: PeerReport & { error?: { code: string } };
}> {
  const dispatcher = new ProxyAgent({
    uri: `http://127.0.0.1:${port}`,
    token: basic(cred),
    requestTls: { ca: vault.caPem },
  });
  return request(url, { dispatcher }).then(async (res) => {
    const json = (await res.body.json()) as PeerReport & { error?: { code: string } };
    await dispatcher.close();
    return { status: res.statusCode, headers: res.headers, json };
  });
}

beforeAll(async () => {
  root = await issue({ cn: 'upstream root', ca: true });
  clientRoot = await issue({ cn: 'client root', ca: true });
  const server = await issue({
    cn: 'localhost',
    issuer: root,
    usage: 'server',
    sans: ['localhost', '127.0.0.1'],
  });
  upstream = await startTlsUpstream({ server, clientCa: [clientRoot.certPem] });
  h = await startOutboundHarness({ upstreamCaPem: root.certPem });
  vault = await h.vault();
});

afterAll(async () => {
  await h?.stop();
  await upstream?.close();
});

describe('authentication', () => {
  test('CONNECT without, with a wrong, an inactive or a deleted credential gets 407', async () => {
    const cred = await h.credential(vault.id);
    const check = async (headers: Record<string, string>): Promise<void> => {
      const answer = await rawConnect(h.port, `localhost:${upstream.port}`, headers);
      answer.socket.destroy();
      expect(answer.status).toBe(407);
      expect(answer.headers['proxy-authenticate']).toBe('Basic realm="vaultgate"');
      expect(answer.headers['x-vaultgate-error']).toBe('proxy_auth_required');
      expect(JSON.parse(answer.body).error.code).toBe('proxy_auth_required');
    };
    await check({});
    await check({ 'Proxy-Authorization': basic({ ...cred, password: 'wrong' }) });
    await check({ 'Proxy-Authorization': 'Bearer nope' });
    const ok = await rawConnect(h.port, `localhost:${upstream.port}`, { 'Proxy-Authorization': basic(cred) });
    ok.socket.destroy();
    expect(ok.status).toBe(200);

    expect(
      (await h.t.api('PATCH', `/vaults/${vault.id}/credentials/${cred.id}`, { status: 'inactive' })).status,
    ).toBe(200);
    await check({ 'Proxy-Authorization': basic(cred) });
    expect((await h.t.api('DELETE', `/vaults/${vault.id}/credentials/${cred.id}`)).status).toBe(204);
    await check({ 'Proxy-Authorization': basic(cred) });
  });

  test('absolute-form requests without valid credentials get 407', async () => {
    const res = await fetchVia(h.port, 'http://127.0.0.1:1/x', {});
    expect(res.status).toBe(407);
    expect(res.headers['proxy-authenticate']).toBe('Basic realm="vaultgate"');
    expect(res.headers['x-vaultgate-error']).toBe('proxy_auth_required');
  });

  test('a malformed CONNECT target gets 400 with a message', async () => {
    const cred = await h.credential(vault.id);
    for (const target of ['localhost', 'localhost:99999', 'bad_host!:443', '[::1:443']) {
      const answer = await rawConnect(h.port, target, { 'Proxy-Authorization': basic(cred) });
      answer.socket.destroy();
      expect(answer.status, target).toBe(400);
      expect(JSON.parse(answer.body).error.message).toMatch(/host/i);
    }
  });
});

describe('interception and client certificates', () => {
  test('curl -x with the outbound CA reaches the upstream with the credential certificate', async () => {
    const cred = await h.credential(vault.id);
    const a = await issue({ cn: 'client-curl', issuer: clientRoot });
    await upload(cred, a);
    const proxy = `http://${cred.username}:${cred.password}@127.0.0.1:${h.port}`;
    const out = await run('curl', [
      '-sS',
      '-x',
      proxy,
      '--cacert',
      vault.caFile,
      `https://localhost:${upstream.port}/hello?x=1`,
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
      ['-sS', '--cacert', vault.caFile, `https://127.0.0.1:${upstream.port}/ip`],
      { HTTPS_PROXY: proxy, https_proxy: proxy },
    );
    expect(viaEnv.stderr).toBe('');
    expect((JSON.parse(viaEnv.stdout) as PeerReport).clientCn).toBe('client-curl');
  });

  test('TLS to the proxy: curl --proxy https://… with the local CA', async () => {
    const cred = await h.credential(vault.id);
    await upload(cred, await issue({ cn: 'client-tls-proxy', issuer: clientRoot }));
    const out = await run('curl', [
      '-sS',
      '--proxy',
      `https://${cred.username}:${cred.password}@localhost:${h.tlsPort}`,
      '--proxy-cacert',
      h.localCaFile,
      '--cacert',
      vault.caFile,
      `https://localhost:${upstream.port}/over-tls`,
    ]);
    expect(out.stderr).toBe('');
    expect((JSON.parse(out.stdout) as PeerReport).clientCn).toBe('client-tls-proxy');
    // And a refusal over TLS still says 407.
    const refused = await rawConnect(h.tlsPort, `localhost:${upstream.port}`, {}, { tlsCa: h.localCaPem });
    refused.socket.destroy();
    expect(refused.status).toBe(407);
  });

  test("Python's urllib with a ProxyHandler and an SSL context trusting the outbound CA", async () => {
    const cred = await h.credential(vault.id);
    await upload(cred, await issue({ cn: 'client-python', issuer: clientRoot }));
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
      `http://${cred.username}:${cred.password}@127.0.0.1:${h.port}`,
      vault.caFile,
      `https://localhost:${upstream.port}/py`,
    ]);
    expect(out.stderr).toBe('');
    expect((JSON.parse(out.stdout) as PeerReport).clientCn).toBe('client-python');
  });

  test('two credentials of one vault present two different certificates to the same upstream (undici ProxyAgent)', async () => {
    const [c1, c2, none] = [
      await h.credential(vault.id),
      await h.credential(vault.id),
      await h.credential(vault.id),
    ];
    const a = await issue({ cn: 'client-a', issuer: clientRoot });
    const b = await issue({ cn: 'client-b', issuer: clientRoot });
    await upload(c1, a);
    await upload(c2, b);
    const [r1, r2] = await Promise.all([
      undiciGet(c1, `https://localhost:${upstream.port}/a`),
      undiciGet(c2, `https://localhost:${upstream.port}/b`),
    ]);
    expect(r1.json.clientFingerprint256).toBe(a.fingerprint256);
    expect(r2.json.clientFingerprint256).toBe(b.fingerprint256);

    const r3 = await undiciGet(none, `https://localhost:${upstream.port}/none`);
    expect(r3.status).toBe(502);
    expect(r3.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
    expect(r3.json.error?.code).toBe('upstream_client_certificate_rejected');
    const line = h.logs.find((l) => l.msg === 'outbound request failed' && l.credential_id === none.id);
    expect(line).toMatchObject({
      vault_id: vault.id,
      host: 'localhost',
      status: 502,
      certificate_id: null,
      error: 'upstream_client_certificate_rejected',
    });
    const ok = h.logs.find((l) => l.msg === 'outbound request' && l.credential_id === c1.id);
    expect(ok).toMatchObject({ status: 200, upstream_status: 200, host: 'localhost' });
    expect(typeof ok?.certificate_id).toBe('string');
    expect(JSON.stringify(h.logs)).not.toMatch(/PRIVATE KEY/);
  });

  test('host scoping: a scoped certificate beats an unscoped one on its host and is presented nowhere else', async () => {
    const cred = await h.credential(vault.id);
    const scoped = await issue({ cn: 'client-scoped', issuer: clientRoot });
    const any = await issue({ cn: 'client-any', issuer: clientRoot });
    await upload(cred, scoped, ['localhost']);
    await upload(cred, any);
    expect((await undiciGet(cred, `https://localhost:${upstream.port}/`)).json.clientCn).toBe(
      'client-scoped',
    );
    expect((await undiciGet(cred, `https://127.0.0.1:${upstream.port}/`)).json.clientCn).toBe('client-any');

    const onlyElsewhere = await h.credential(vault.id);
    await upload(onlyElsewhere, await issue({ cn: 'client-elsewhere', issuer: clientRoot }), [
      'api.visa.example',
      '*.mastercard.example',
    ]);
    const res = await undiciGet(onlyElsewhere, `https://localhost:${upstream.port}/`);
    expect(res.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
  });

  test('rotation and deletion apply at once inside an open keep-alive tunnel', async () => {
    const up = await startTlsUpstream({
      server: await issue({ cn: 'localhost', issuer: root, usage: 'server', sans: ['localhost'] }),
      clientCa: [clientRoot.certPem],
    });
    try {
      const cred = await h.credential(vault.id);
      const old = await issue({
        cn: 'client-old',
        issuer: clientRoot,
        notBefore: new Date(Date.now() - 2 * 86_400_000),
      });
      const renewed = await issue({
        cn: 'client-renewed',
        issuer: clientRoot,
        notBefore: new Date(Date.now() - 86_400_000),
      });
      await upload(cred, old);
      const agent = new TunnelAgent({ port: h.port, cred, target: `localhost:${up.port}`, ca: vault.caPem });
      const ask = async (): Promise<PeerReport> => JSON.parse((await get(agent, '/')).body) as PeerReport;
      expect((await ask()).clientCn).toBe('client-old');
      expect((await ask()).clientCn).toBe('client-old');
      expect(up.accepted()).toBe(1); // pooled upstream connection reused

      const renewedId = await upload(cred, renewed);
      expect((await ask()).clientCn).toBe('client-renewed');

      // Deleting the renewal closes the pooled connection that presented it, and the old one is back.
      expect(up.open()).toBe(2);
      expect((await h.t.api('DELETE', `/vaults/${vault.id}/certificates/${renewedId}`)).status).toBe(204);
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
    const cred = await h.credential(vault.id);
    const soon = await issue({
      cn: 'client-expiring',
      issuer: clientRoot,
      notAfter: new Date(Date.now() + 2500),
    });
    const future = await issue({
      cn: 'client-future',
      issuer: clientRoot,
      notBefore: new Date(Date.now() + 3_600_000),
      notAfter: new Date(Date.now() + 86_400_000),
    });
    await upload(cred, soon);
    await upload(cred, future);
    const agent = new TunnelAgent({
      port: h.port,
      cred,
      target: `localhost:${upstream.port}`,
      ca: vault.caPem,
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
    const cred = await h.credential(vault.id);
    await upload(cred, await issue({ cn: 'client-deactivated', issuer: clientRoot }));
    const agent = new TunnelAgent({
      port: h.port,
      cred,
      target: `localhost:${upstream.port}`,
      ca: vault.caPem,
    });
    expect((await get(agent, '/')).status).toBe(200);
    await h.t.api('PATCH', `/vaults/${vault.id}/credentials/${cred.id}`, { status: 'inactive' });
    const refused = await get(agent, '/');
    expect(refused.status).toBe(407);
    expect(refused.headers['x-vaultgate-error']).toBe('proxy_auth_required');
    expect(refused.headers.connection).toBe('close');
    agent.destroy();
  });
});

describe('header hygiene, plain HTTP, errors', () => {
  test('Proxy-Authorization and hop-by-hop headers never reach the upstream (tunnel and absolute-form)', async () => {
    const cred = await h.credential(vault.id);
    await upload(cred, await issue({ cn: 'client-hygiene', issuer: clientRoot }));
    const agent = new TunnelAgent({
      port: h.port,
      cred,
      target: `localhost:${upstream.port}`,
      ca: vault.caPem,
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
        `http://${cred.username}:${cred.password}@127.0.0.1:${h.port}`,
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

  test('upstream errors are HTTP answers inside the tunnel with x-vaultgate-error', async () => {
    const cred = await h.credential(vault.id);
    const dead = await closedPort();
    const out = await run('curl', [
      '-sS',
      '-i',
      '-x',
      `http://${cred.username}:${cred.password}@127.0.0.1:${h.port}`,
      '--cacert',
      vault.caFile,
      `https://localhost:${dead}/`,
    ]);
    expect(out.stdout).toMatch(/^HTTP\/1\.1 200 Connection Established/);
    expect(out.stdout).toMatch(/HTTP\/1\.1 502/);
    expect(out.stdout).toMatch(/x-vaultgate-error: upstream_unreachable/i);
    expect(out.stdout).toMatch(/"code":"upstream_unreachable"/);
  });

  test('a client that does not trust the outbound CA fails its handshake, and one clear line is logged', async () => {
    const cred = await h.credential(vault.id);
    const before = h.logs.length;
    const out = await run('curl', [
      '-sS',
      '-x',
      `http://${cred.username}:${cred.password}@127.0.0.1:${h.port}`,
      `https://localhost:${upstream.port}/`,
    ]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/certificate/i);
    await waitFor(() =>
      h.logs.slice(before).some((l) => String(l.msg).includes('rejected the interception certificate')),
    );
    const lines = h.logs.slice(before).filter((l) => String(l.msg).includes('interception certificate'));
    expect(lines).toHaveLength(1);
    expect(lines[0]?.msg).toBe(
      `the client rejected the interception certificate for localhost; it must trust the vault's outbound CA (GET /api/v1/vaults/${vault.id}/outbound-ca)`,
    );
  });
});

describe('leaf certificates', () => {
  test('100 concurrent first CONNECTs to one new host mint one leaf', async () => {
    const v = await h.vault('burst');
    const cred = await h.credential(v.id);
    const sockets: TLSSocket[] = await Promise.all(
      Array.from({ length: 100 }, () =>
        openTunnel({ port: h.port, cred, target: 'burst.example:443', ca: v.caPem }),
      ),
    );
    const fingerprints = new Set(
      sockets.map((s) => new X509Certificate(s.getPeerCertificate(true).raw).fingerprint256),
    );
    const leaf = new X509Certificate(sockets[0]!.getPeerCertificate(true).raw);
    for (const s of sockets) s.destroy();
    expect(fingerprints.size).toBe(1); // every serial is random: one fingerprint means one mint
    expect(leaf.subjectAltName).toBe('DNS:burst.example');
    expect(leaf.checkIssued(new X509Certificate(v.caPem))).toBe(true);
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function fetchVia(
  port: number,
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: url, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
