/**
 * Issue 13, inbound findings, tried as an attacker would from the network (SPEC §3, §4, §5): path
 * confinement (dot segments in any spelling), SNI against Host, transfer codings, a route's
 * source_endpoint, an upstream answering 101, and what an inbound caller learns from an upstream
 * failure. Real vaultgate, real sockets, real TLS; the dot-segment and transfer-coding rules are also
 * checked on the outbound proxy (absolute-form and inside a tunnel), where SPEC §4 applies them.
 */
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  plainConnector,
  rawExchange,
  tlsConnector,
  tunnelConnector,
  type Connector,
} from './helpers/abuse-clients.js';
import { startInbound, type InboundFixture } from './helpers/inbound-fixture.js';
import { startUpstream, type Upstream } from './helpers/inbound-upstream.js';
import { basic, type Cred } from './helpers/outbound-client.js';
import { makeCa, makeLeaf, workDir, type Issued } from './helpers/pki-fixtures.js';
import { closedPort } from './helpers/tls-upstream.js';

let f: InboundFixture;
const logLines: string[] = [];
let serverRoot: Issued;
let serverLeaf: Issued;
let upstream: Upstream;
/** Every request target the upstream received, in order. */
const seen: string[] = [];

beforeAll(async () => {
  serverRoot = makeCa({ cn: 'Security Inbound Upstream Root' });
  serverLeaf = makeLeaf({
    issuer: serverRoot,
    cn: 'localhost',
    eku: ['serverAuth'],
    sans: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  upstream = await startUpstream({
    server: serverLeaf,
    handler: (req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ url: req.url, te: req.headers['transfer-encoding'] ?? null }));
      });
    },
  });
  const caFile = join(workDir(), 'security-inbound-upstream-ca.pem');
  writeFileSync(caFile, serverRoot.certPem);
  f = await startInbound({ VAULTGATE_UPSTREAM_CA_FILE: caFile }, { logLines });
});
afterAll(async () => {
  await f?.stop();
  await upstream?.close();
});

/** A fresh vault whose one inbound route goes to the upstream under /callbacks. */
async function callbacksVault(route: Record<string, unknown> = {}): Promise<{ id: string; host: string }> {
  const v = await f.vault();
  await f.route(v.id, { destination_override_endpoint: `${upstream.url.origin}/callbacks`, ...route });
  return v;
}

/** A connection to the inbound port; `sni: null` connects by IP address, so no SNI is sent. */
function inbound(sni: string | null): Connector {
  if (sni !== null) return tlsConnector(f.port, f.localCa, sni);
  return () =>
    new Promise((resolve, reject) => {
      const socket = tls.connect({
        port: f.port,
        host: '127.0.0.1',
        ca: f.localCa,
        ALPNProtocols: ['http/1.1'],
      });
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    });
}

function head(method: string, target: string, host: string, extra: string[] = []): string {
  return [`${method} ${target} HTTP/1.1`, `Host: ${host}`, ...extra, '', ''].join('\r\n');
}

/** The SPEC §5 body of an error answer in a raw exchange (the last one, if several). */
function errorOf(text: string): { code: string; message: string } {
  const body = text.slice(text.lastIndexOf('\r\n\r\n') + 4);
  return (JSON.parse(body) as { error: { code: string; message: string } }).error;
}

const DOT_SEGMENT_TARGETS = [
  '/../admin/users',
  '/%2e%2e/admin/users',
  '/%2E./admin/users',
  '/.%2e/admin/users',
  '/a/./b',
  '/a/..',
  '/a/.',
  '/a/..\\admin',
  '/a\\..\\admin',
  '/a/%2e%2E%5cadmin',
  '/a%2f..%2fadmin',
  '/a%2F..%2Fadmin',
  '/..;/admin/users',
  '/a/.;x=1/b',
  '/a/..?q=1',
];
/** Dots that are not segments of their own, and dot segments in the query: forwarded as sent. */
const HARMLESS_TARGETS = [
  '/a/...',
  '/a/..b/c',
  '/.well-known/x',
  '/file.json',
  '/a?next=/../b',
  '/a/%2e%2e.txt',
];

describe('dot segments in the request target → 400 invalid_target', () => {
  it('refuses every spelling on the inbound proxy, and the upstream sees none of them', async () => {
    const v = await callbacksVault();
    const before = seen.length;
    for (const target of DOT_SEGMENT_TARGETS) {
      const res = await rawExchange(inbound(v.host), head('GET', target, v.host, ['Connection: close']));
      expect(res.statuses, `${target}: ${res.text}`).toEqual([400]);
      expect(res.text).toMatch(/x-vaultgate-error: invalid_target/i);
      expect(errorOf(res.text).message).toContain('".."');
    }
    expect(seen.slice(before)).toEqual([]);
  });

  it('forwards dots that are not segments, and dot segments in the query, unchanged', async () => {
    const v = await callbacksVault();
    for (const target of HARMLESS_TARGETS) {
      const res = await rawExchange(inbound(v.host), head('GET', target, v.host, ['Connection: close']));
      expect(res.statuses, `${target}: ${res.text}`).toEqual([200]);
      expect(seen.at(-1)).toBe(`/callbacks${target}`);
    }
  });
});

describe('SNI and Host must name the same vault → 421 misdirected_request', () => {
  it('refuses a Host of another vault on a connection opened for the first (SNI)', async () => {
    const a = await callbacksVault();
    const b = await callbacksVault();
    const before = seen.length;
    const res = await rawExchange(inbound(a.host), head('GET', '/x', b.host, ['Connection: close']));
    expect(res.statuses, res.text).toEqual([421]);
    expect(res.text).toMatch(/x-vaultgate-error: misdirected_request/i);
    expect(errorOf(res.text).message).toContain(b.host);
    expect(seen.length).toBe(before);
  });

  it('refuses it on a kept-alive connection after a request that matched', async () => {
    const a = await callbacksVault();
    const b = await callbacksVault();
    const res = await rawExchange(
      inbound(a.host),
      head('GET', '/first', a.host) + head('GET', '/second', b.host, ['Connection: close']),
    );
    expect(res.statuses, res.text).toEqual([200, 421]);
  });

  it('serves by Host when there is no SNI (a client connecting by IP address) or SNI names no vault', async () => {
    const v = await callbacksVault();
    for (const sni of [null, 'localhost', v.host.toUpperCase()]) {
      const res = await rawExchange(inbound(sni), head('GET', '/by-host', v.host, ['Connection: close']));
      expect(res.statuses, `${String(sni)}: ${res.text}`).toEqual([200]);
    }
  });
});

describe('transfer codings other than chunked → 501 not_implemented', () => {
  const chunkedBody = '5\r\nhello\r\n0\r\n\r\n';

  it('refuses "gzip, chunked" (one field or two) and closes the connection; "chunked" alone is forwarded', async () => {
    const v = await callbacksVault();
    const before = seen.length;
    for (const fields of [
      ['Transfer-Encoding: gzip, chunked'],
      ['Transfer-Encoding: gzip', 'Transfer-Encoding: chunked'],
    ]) {
      const res = await rawExchange(inbound(v.host), head('POST', '/upload', v.host, fields) + chunkedBody);
      expect(res.statuses, res.text).toEqual([501]);
      expect(res.text).toMatch(/x-vaultgate-error: not_implemented/i);
      expect(res.text).toMatch(/connection: close/i);
      expect(res.closed).toBe(true);
      expect(errorOf(res.text).message).toContain('gzip');
    }
    // A last coding other than chunked: Node's server passes it on (reading the body to the close),
    // and the rule answers it like the others.
    const gzip = await rawExchange(
      inbound(v.host),
      head('POST', '/upload', v.host, ['Transfer-Encoding: gzip']) + 'xx',
    );
    expect(gzip.statuses, gzip.text).toEqual([501]);
    expect(gzip.text).toMatch(/x-vaultgate-error: not_implemented/i);
    expect(gzip.closed).toBe(true);
    expect(seen.length).toBe(before);
    const ok = await rawExchange(
      inbound(v.host),
      head('POST', '/upload', v.host, ['Transfer-Encoding: chunked', 'Connection: close']) + chunkedBody,
    );
    expect(ok.statuses, ok.text).toEqual([200]);
  });
});

describe('source_endpoint', () => {
  it('is validated at create and PUT: 422 invalid_field naming the bad item', async () => {
    const v = await f.vault();
    const destination = `${upstream.url.origin}/callbacks`;
    for (const [value, named] of [
      ['nope', '"nope"'],
      ['10.0.0.0/8, 10.0.0.0/33', '"10.0.0.0/33"'],
      ['::1/129', '"::1/129"'],
      ['10.0.0.0/8,,::1', 'empty item'],
      ['*, 10.0.0.0/8', '"*"'],
      ['', '"*"'],
      ['fe80::1%eth0', '"fe80::1%eth0"'],
    ] as const) {
      const res = await f.api('POST', `/vaults/${v.id}/routes`, {
        destination_override_endpoint: destination,
        source_endpoint: value,
      });
      expect(res.status, `${value}: ${res.text}`).toBe(422);
      expect(res.json.error).toMatchObject({ code: 'invalid_field', field: 'source_endpoint' });
      expect(res.json.error.message).toContain(named);
    }
    const id = await f.route(v.id, {
      destination_override_endpoint: destination,
      source_endpoint: '10.0.0.0/8, 192.0.2.1, 2001:db8::/32, ::1',
    });
    const put = await f.api('PUT', `/vaults/${v.id}/routes/${id}`, {
      destination_override_endpoint: destination,
      source_endpoint: '300.1.1.1',
    });
    expect(put.status, put.text).toBe(422);
    expect(put.json.error).toMatchObject({ code: 'invalid_field', field: 'source_endpoint' });
    expect(put.json.error.message).toContain('"300.1.1.1"');
  });

  it('refuses callers outside the list with 403 source_not_allowed, and lets those inside through', async () => {
    const v = await f.vault();
    const destination = `${upstream.url.origin}/callbacks`;
    const id = await f.route(v.id, {
      destination_override_endpoint: destination,
      source_endpoint: '10.0.0.0/8, ::1',
    });
    const before = seen.length;
    const refused = await f.request(v.host, { path: '/x' });
    expect(refused.status, refused.body.toString()).toBe(403);
    expect(refused.headers['x-vaultgate-error']).toBe('source_not_allowed');
    expect(refused.json.error.message).toContain('127.0.0.1');
    expect(refused.json.error.message).not.toContain('10.0.0.0');
    expect(seen.length).toBe(before);

    for (const allowed of ['127.0.0.0/8', '192.0.2.7, 127.0.0.1', '*']) {
      const put = await f.api('PUT', `/vaults/${v.id}/routes/${id}`, {
        destination_override_endpoint: destination,
        source_endpoint: allowed,
      });
      expect(put.status, put.text).toBe(200);
      expect((await f.report(v.host, { path: '/x' })).url).toBe('/callbacks/x');
    }
  });
});

/** A TLS upstream that answers every request with `answer` and keeps the connection open. */
async function interimUpstream(
  answer: string,
): Promise<{ url: string; closed: Promise<void>; close(): void }> {
  let onClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => (onClosed = resolve));
  const server = tls.createServer({ cert: serverLeaf.certPem, key: serverLeaf.keyPem }, (socket) => {
    socket.on('error', () => {});
    let sent = false;
    socket.on('data', () => {
      if (sent) return;
      sent = true;
      socket.write(answer);
    });
    socket.once('close', onClosed);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `https://localhost:${port}`,
    closed,
    close: () => server.close(),
  };
}

describe('an upstream answering an unsolicited 101 → 502 upstream_unreachable', () => {
  const answers = {
    'with an Upgrade field':
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n',
    'without one': 'HTTP/1.1 101 Switching Protocols\r\n\r\n',
  };
  // A bodiless GET takes the undici client, a chunked POST Node's http client (forward.ts).
  const requests = {
    undici: (host: string) => head('GET', '/ws', host, ['Connection: close']),
    'node:http': (host: string) =>
      head('POST', '/ws', host, ['Transfer-Encoding: chunked', 'Connection: close']) + '2\r\nhi\r\n0\r\n\r\n',
  };
  for (const [what, answer] of Object.entries(answers)) {
    for (const [path, request] of Object.entries(requests)) {
      it(`${what}, through ${path}: the caller gets 502 and the upstream connection is closed`, async () => {
        const up = await interimUpstream(answer);
        try {
          const v = await f.vault();
          await f.route(v.id, { destination_override_endpoint: up.url });
          const res = await rawExchange(inbound(v.host), request(v.host), 10_000);
          expect(res.statuses, res.text).toEqual([502]);
          expect(res.text).toMatch(/x-vaultgate-error: upstream_unreachable/i);
          await up.closed;
        } finally {
          up.close();
        }
      });
    }
  }
});

describe('inbound callers get generic upstream error messages; the detail is logged', () => {
  async function logged(vaultId: string): Promise<Record<string, unknown>> {
    for (;;) {
      for (const line of logLines) {
        let entry: Record<string, unknown>;
        try {
          entry = JSON.parse(line) as Record<string, unknown>;
        } catch {
          continue;
        }
        if (entry.msg === 'inbound request' && entry.vault_id === vaultId) return entry;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a refused client certificate: no certificate id, host, port or TLS alert in the answer', async () => {
    const clientRoot = makeCa({ cn: 'Generic Client Root' });
    const foreign = makeLeaf({ issuer: makeCa({ cn: 'Generic Foreign Root' }), cn: 'generic-foreign' });
    const demanding = await startUpstream({ server: serverLeaf, clientCa: [clientRoot.certPem] });
    try {
      const v = await f.vault();
      const routeId = await f.route(v.id, {
        destination_override_endpoint: `https://localhost:${demanding.port}`,
      });
      const cert = await f.upload(v.id, routeId, foreign);
      const res = await f.request(v.host, { path: '/callback' });
      expect(res.status).toBe(502);
      expect(res.headers['x-vaultgate-error']).toBe('upstream_client_certificate_rejected');
      const body = res.body.toString();
      expect(res.json.error.message).toContain("The upstream refused vaultgate's client certificate.");
      for (const secret of [cert.id, 'localhost', String(demanding.port), 'alert', 'ERR_']) {
        expect(body).not.toContain(secret);
      }
      const entry = await logged(v.id);
      expect(entry.error).toBe('upstream_client_certificate_rejected');
      expect(String(entry.error_detail)).toMatch(/rejected the client certificate/);
    } finally {
      await demanding.close();
    }
  });

  it('a refused connection: no port in the answer', async () => {
    const port = await closedPort();
    const v = await f.vault();
    await f.route(v.id, { destination_override_endpoint: `https://localhost:${port}` });
    const res = await f.request(v.host);
    expect(res.headers['x-vaultgate-error']).toBe('upstream_unreachable');
    expect(res.body.toString()).not.toContain(String(port));
    expect(res.json.error.message).toMatch(/could not reach the upstream service/);
    expect(String((await logged(v.id)).error_detail)).toContain('refused the connection');
  });
});

describe('outbound proxy: the same request rules (SPEC §4)', () => {
  let cred: Cred;
  let outboundCa: string;
  let plainUpstream: http.Server;
  let plainPort: number;

  beforeAll(async () => {
    const v = await f.vault('outbound rules');
    outboundCa = (await f.api('GET', `/vaults/${v.id}/outbound-ca`)).text;
    const c = await f.api('POST', `/vaults/${v.id}/credentials`, {});
    cred = { username: c.json.data.username as string, password: c.json.data.password as string };
    plainUpstream = http.createServer((req, res) => {
      seen.push(req.url ?? '');
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((resolve) => plainUpstream.listen(0, '127.0.0.1', resolve));
    plainPort = (plainUpstream.address() as net.AddressInfo).port;
  });
  afterAll(() => plainUpstream?.close());

  const proxy = (): Connector => plainConnector(f.t.vg.ports.outbound);
  const tunnel = (): Connector =>
    tunnelConnector({
      port: f.t.vg.ports.outbound,
      cred,
      target: `localhost:${upstream.port}`,
      ca: outboundCa,
    });

  it('absolute-form: dot segments → 400 invalid_target, "gzip, chunked" → 501, before anything is sent', async () => {
    const auth = `Proxy-Authorization: ${basic(cred)}`;
    const origin = `http://127.0.0.1:${plainPort}`;
    const before = seen.length;
    for (const path of ['/a/../b', '/%2e%2e/b', '/a/..\\b']) {
      const res = await rawExchange(
        proxy(),
        head('GET', origin + path, `127.0.0.1:${plainPort}`, [auth, 'Connection: close']),
      );
      expect(res.statuses, `${path}: ${res.text}`).toEqual([400]);
      expect(res.text).toMatch(/x-vaultgate-error: invalid_target/i);
    }
    const te = await rawExchange(
      proxy(),
      head('POST', `${origin}/up`, `127.0.0.1:${plainPort}`, [auth, 'Transfer-Encoding: gzip, chunked']) +
        '2\r\nhi\r\n0\r\n\r\n',
    );
    expect(te.statuses, te.text).toEqual([501]);
    expect(te.text).toMatch(/x-vaultgate-error: not_implemented/i);
    expect(seen.length).toBe(before);
    const ok = await rawExchange(
      proxy(),
      head('GET', `${origin}/a/b`, `127.0.0.1:${plainPort}`, [auth, 'Connection: close']),
    );
    expect(ok.statuses, ok.text).toEqual([200]);
    expect(seen.at(-1)).toBe('/a/b');
  });

  it('inside a tunnel: dot segments → 400 invalid_target, "gzip, chunked" → 501', async () => {
    const before = seen.length;
    for (const path of ['/a/../b', '/a/%2E%2e/b', `https://localhost:${upstream.port}/a/../b`]) {
      const res = await rawExchange(
        tunnel(),
        head('GET', path, `localhost:${upstream.port}`, ['Connection: close']),
      );
      expect(res.statuses, `${path}: ${res.text}`).toEqual([400]);
      expect(res.text).toMatch(/x-vaultgate-error: invalid_target/i);
    }
    const te = await rawExchange(
      tunnel(),
      head('POST', '/up', `localhost:${upstream.port}`, ['Transfer-Encoding: gzip, chunked']) +
        '2\r\nhi\r\n0\r\n\r\n',
    );
    expect(te.statuses, te.text).toEqual([501]);
    expect(seen.length).toBe(before);
    const ok = await rawExchange(
      tunnel(),
      head('GET', '/a/b', `localhost:${upstream.port}`, ['Connection: close']),
    );
    expect(ok.statuses, ok.text).toEqual([200]);
    expect(seen.at(-1)).toBe('/a/b');
  });
});
