import { execFileSync } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecureVersion } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { forward, type ForwardResult } from '../src/proxy/http/forward.js';
import type { LogFields, Logger } from '../src/observability/logger.js';
import { gateOf, laneOf, UpstreamPools, type UpstreamTlsSettings } from '../src/proxy/upstream/pools.js';
import type { RuntimeCertificate } from '../src/snapshot/types.js';
import {
  closedPort,
  closeServer,
  fetchLocal,
  issue,
  listenLocal,
  startOpensslUpstream,
  startTlsUpstream,
  type Issued,
  type PeerReport,
  type TlsUpstream,
} from './helpers/tls-upstream.js';

let root: Issued;
let intermediate: Issued;
let serverCert: Issued;
let clientA: Issued;
let clientB: Issued;
let viaIntermediate: Issued;
let foreignCa: Issued;
let foreignClient: Issued;

function runtime(id: string, leaf: Issued, ...chain: Issued[]): RuntimeCertificate {
  return {
    id,
    vaultId: 'tnt00000001',
    proxyType: 'inbound',
    hosts: [],
    notBefore: 0,
    notAfter: Number.MAX_SAFE_INTEGER,
    createdAt: 0,
    chainPem: [leaf, ...chain].map((c) => c.certPem).join(''),
    keyPem: Buffer.from(leaf.keyPem),
  };
}

const trustRoot = (): UpstreamTlsSettings => ({ verify: true, ca_pem: root.certPem });

/** GET through a pool agent directly (no forward), answering the body. */
function getText(agent: http.Agent, upstream: TlsUpstream, path = '/'): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, protocol: 'https:', host: 'localhost', port: upstream.port, path },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const get = async (agent: http.Agent, upstream: TlsUpstream): Promise<PeerReport> =>
  JSON.parse(await getText(agent, upstream)) as PeerReport;

async function until(check: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  root = await issue({ cn: 'Test Root', ca: true });
  intermediate = await issue({ cn: 'Test Intermediate', ca: true, issuer: root });
  serverCert = await issue({
    cn: 'localhost',
    issuer: root,
    usage: 'server',
    sans: ['localhost', '127.0.0.1'],
  });
  clientA = await issue({ cn: 'client-a', issuer: root });
  clientB = await issue({ cn: 'client-b', issuer: root });
  viaIntermediate = await issue({ cn: 'client-via-intermediate', issuer: intermediate });
  foreignCa = await issue({ cn: 'Foreign Root', ca: true });
  foreignClient = await issue({ cn: 'foreign-client', issuer: foreignCa });
});

describe('UpstreamPools', () => {
  let upstream: TlsUpstream;
  beforeAll(async () => {
    upstream = await startTlsUpstream({
      server: serverCert,
      clientCa: [root.certPem],
      handler: undefined,
    });
  });
  afterAll(() => upstream.close());

  it('presents the tied certificate, with its chain when issued by an intermediate', async () => {
    const pools = new UpstreamPools();
    const a = await get(
      pools.agentFor({ origin: upstream.url, certificate: runtime('a', clientA), tls: trustRoot() }),
      upstream,
    );
    expect(a).toMatchObject({
      authorized: true,
      clientCn: 'client-a',
      clientFingerprint256: clientA.fingerprint256,
    });
    const chained = runtime('i', viaIntermediate, intermediate);
    const i = await get(
      pools.agentFor({ origin: upstream.url, certificate: chained, tls: trustRoot() }),
      upstream,
    );
    // The upstream trusts only the root: it can authorise the leaf only with the intermediate we sent.
    expect(i).toMatchObject({
      authorized: true,
      clientCn: 'client-via-intermediate',
      clientIssuerCn: 'Test Intermediate',
    });
    pools.close();
  });

  it('keeps one pool per certificate and never shares a connection between them', async () => {
    const pools = new UpstreamPools();
    const certA = runtime('a', clientA);
    const certB = runtime('b', clientB);
    const seen = { a: new Set<number>(), b: new Set<number>() };
    for (let n = 0; n < 10; n++) {
      const [ra, rb] = await Promise.all([
        get(pools.agentFor({ origin: upstream.url, certificate: certA, tls: trustRoot() }), upstream),
        get(pools.agentFor({ origin: upstream.url, certificate: certB, tls: trustRoot() }), upstream),
      ]);
      expect(ra.clientCn).toBe('client-a');
      expect(rb.clientCn).toBe('client-b');
      seen.a.add(ra.connection);
      seen.b.add(rb.connection);
    }
    expect([...seen.a].filter((c) => seen.b.has(c))).toEqual([]);
    expect(pools.agentFor({ origin: upstream.url, certificate: certA, tls: trustRoot() })).not.toBe(
      pools.agentFor({ origin: upstream.url, certificate: certB, tls: trustRoot() }),
    );
    expect(pools.stats().pools).toBe(2);
    // Another origin with the same identity gets its own pool but shares the TLS context.
    const sameHostOtherName = new URL(upstream.url.href.replace('localhost', '127.0.0.1'));
    pools.agentFor({ origin: sameHostOtherName, certificate: certA, tls: trustRoot() });
    expect(pools.stats()).toMatchObject({ pools: 3, contexts: 2 });
    pools.retainOnly(new Set([certB.id]));
    expect(pools.stats().contexts).toBe(1);
    pools.close();
  });

  it('reuses one kept-alive connection across 20 sequential requests, then resumes the TLS session', async () => {
    const pools = new UpstreamPools();
    const target = { origin: upstream.url, certificate: runtime('a', clientA), tls: trustRoot() };
    const before = upstream.accepted();
    const connections = new Set<number>();
    for (let n = 0; n < 20; n++) connections.add((await get(pools.agentFor(target), upstream)).connection);
    expect(connections.size).toBe(1);
    expect(upstream.accepted() - before).toBe(1);
    expect(pools.stats()).toMatchObject({ handshakes: 1, resumedSessions: 0 });
    // Drop the connection but keep the pool: the next connection resumes the cached session.
    pools.retainOnly(new Set(['a']));
    for (const list of Object.values(pools.agentFor(target).freeSockets)) list?.forEach((s) => s.destroy());
    const again = await get(pools.agentFor(target), upstream);
    expect(again.clientCn).toBe('client-a');
    expect(pools.stats()).toMatchObject({ handshakes: 2, resumedSessions: 1 });
    pools.close();
  });

  it('retainOnly closes idle sockets of a removed certificate and never reuses in-flight ones', async () => {
    let release: (() => void) | null = null;
    const slow = await startTlsUpstream({
      server: serverCert,
      clientCa: [root.certPem],
      handler: (req, res) => {
        const answer = (): void => void res.end('done');
        if (req.url === '/slow') release = answer;
        else answer();
      },
    });
    const pools = new UpstreamPools();
    const idleTarget = { origin: slow.url, certificate: runtime('idle', clientA), tls: trustRoot() };
    const busyTarget = { origin: slow.url, certificate: runtime('busy', clientB), tls: trustRoot() };
    const idleAgent = pools.agentFor(idleTarget);
    expect(await getText(idleAgent, slow)).toBe('done');
    const busyAgent = pools.agentFor(busyTarget);
    const inFlight = getText(busyAgent, slow, '/slow');
    await until(() => release !== null && slow.open() === 2);

    pools.retainOnly(new Set());
    await until(() => slow.open() === 1); // the idle connection is gone at once
    expect(pools.stats().pools).toBe(0);
    (release as unknown as () => void)();
    expect(await inFlight).toBe('done'); // the in-flight request completes…
    await until(() => slow.open() === 0); // …and its connection is closed instead of pooled
    expect(Object.values(busyAgent.freeSockets).flat()).toEqual([]);
    expect(pools.agentFor(busyTarget)).not.toBe(busyAgent);
    pools.close();
    await slow.close();
  });

  it('keys pools by trust settings and skips SNI for IP literals', async () => {
    const pools = new UpstreamPools();
    const cert = runtime('a', clientA);
    const one = pools.agentFor({ origin: upstream.url, certificate: cert, tls: trustRoot() });
    expect(pools.agentFor({ origin: upstream.url, certificate: cert, tls: trustRoot() })).toBe(one);
    expect(pools.agentFor({ origin: upstream.url, certificate: cert, tls: { verify: false } })).not.toBe(one);
    const byIp = pools.agentFor({
      origin: new URL(`https://127.0.0.1:${upstream.port}`),
      certificate: cert,
      tls: trustRoot(),
    });
    expect((byIp as unknown as { options: { servername?: string } }).options.servername).toBe('');
    const report = await new Promise<PeerReport>((resolve, reject) => {
      http
        .get({ agent: byIp, protocol: 'https:', host: '127.0.0.1', port: upstream.port }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(JSON.parse(body) as PeerReport));
        })
        .on('error', reject);
    });
    expect(report.clientCn).toBe('client-a'); // verified against the IP SAN
    pools.close();
  });
});

/** A front server that forwards every request to `target()` and records the results. */
async function front(
  pools: UpstreamPools,
  target: () => { url: URL; certificate: RuntimeCertificate | null; tls?: UpstreamTlsSettings },
  options: { connectTimeoutMs?: number; headersTimeoutMs?: number; bodyTimeoutMs?: number } = {},
): Promise<{ port: number; results: ForwardResult[]; close: () => Promise<void> }> {
  const results: ForwardResult[] = [];
  const server = http.createServer((req, res) => {
    const t = target();
    const agent = pools.agentFor({ origin: t.url, certificate: t.certificate, tls: t.tls });
    void forward(req, res, { url: t.url, agent, hostHeader: t.url.host, forwarded: null }, options).then(
      (r) => results.push(r),
    );
  });
  const port = await listenLocal(server);
  return { port, results, close: () => closeServer(server) };
}

describe.each(['TLSv1.2', 'TLSv1.3'] as SecureVersion[])('failure classification over %s', (version) => {
  const pools = new UpstreamPools();
  afterAll(() => pools.close());

  async function attempt(
    upstreamOpts: Partial<Parameters<typeof startTlsUpstream>[0]>,
    certificate: RuntimeCertificate | null,
    tls: UpstreamTlsSettings = trustRoot(),
  ): Promise<{ status: number; code: unknown; message: string; result: ForwardResult | undefined }> {
    const upstream = await startTlsUpstream({
      server: serverCert,
      clientCa: [root.certPem],
      minVersion: version,
      maxVersion: version,
      ...upstreamOpts,
    });
    const f = await front(pools, () => ({ url: upstream.url, certificate, tls }));
    const res = await fetchLocal(f.port);
    await f.close();
    await upstream.close();
    const body = JSON.parse(res.body) as { error: { code: string; message: string } };
    expect(res.headers['x-vaultgate-error']).toBe(body.error.code);
    return { status: res.status, code: body.error.code, message: body.error.message, result: f.results[0] };
  }

  it('no certificate tied while the upstream requires one → upstream_client_certificate_rejected', async () => {
    const r = await attempt({}, null);
    expect(r).toMatchObject({ status: 502, code: 'upstream_client_certificate_rejected' });
    expect(r.message).toContain('none is tied');
    expect(r.result?.errorKind).toBe('client_certificate_required');
  });

  it('a certificate from a CA the upstream does not trust → upstream_client_certificate_rejected', async () => {
    const r = await attempt({}, runtime('f', foreignClient));
    expect(r).toMatchObject({ status: 502, code: 'upstream_client_certificate_rejected' });
    expect(r.result?.certificateId).toBe('f');
  });

  it('an untrusted server certificate → upstream_certificate_untrusted', async () => {
    const selfSigned = await issue({ cn: 'localhost', usage: 'server', sans: ['localhost'] });
    const r = await attempt({ server: selfSigned }, runtime('a', clientA));
    expect(r).toMatchObject({ status: 502, code: 'upstream_certificate_untrusted' });
  });

  it('an expired server certificate → upstream_certificate_untrusted', async () => {
    const expired = await issue({
      cn: 'localhost',
      issuer: root,
      usage: 'server',
      sans: ['localhost'],
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const r = await attempt({ server: expired }, runtime('a', clientA));
    expect(r).toMatchObject({ status: 502, code: 'upstream_certificate_untrusted' });
    expect(r.message).toContain('expired');
  });

  it('a server certificate for another host → upstream_certificate_untrusted', async () => {
    const other = await issue({
      cn: 'api.other.example',
      issuer: root,
      usage: 'server',
      sans: ['api.other.example'],
    });
    const r = await attempt({ server: other }, runtime('a', clientA));
    expect(r).toMatchObject({ status: 502, code: 'upstream_certificate_untrusted' });
    expect(r.result?.errorKind).toBe('server_hostname_mismatch');
  });

  it('no cipher suite in common (handshake_failure, like a certificate refusal) → upstream_tls_error', async () => {
    // The upstream holds an ECDSA key but allows only RSA suites: it refuses our ClientHello with
    // handshake_failure(40) — the same alert a TLS 1.2 server uses to refuse a missing certificate.
    const ciphers = version === 'TLSv1.3' ? 'TLS_AES_128_CCM_8_SHA256' : 'ECDHE-RSA-AES128-GCM-SHA256';
    const r = await attempt({ ciphers }, runtime('a', clientA));
    expect(r).toMatchObject({ status: 502, code: 'upstream_tls_error' });
    expect(r.result?.errorKind).toBe('tls_negotiation_failed');
  });

  it('an OpenSSL upstream refuses a foreign certificate with an alert → upstream_client_certificate_rejected', async () => {
    const sserver = await startOpensslUpstream({ server: serverCert, clientCa: root.certPem, version });
    try {
      const answers: Record<string, { status: number; code?: string; message?: string }> = {};
      for (const [name, cert] of [
        ['foreign', runtime('f', foreignClient)],
        ['none', null],
        ['good', runtime('a', clientA)],
      ] as const) {
        const f = await front(pools, () => ({ url: sserver.url, certificate: cert, tls: trustRoot() }));
        const res = await fetchLocal(f.port);
        await f.close();
        const error =
          res.status === 200
            ? {}
            : (JSON.parse(res.body) as { error: { code: string; message: string } }).error;
        answers[name] = { status: res.status, ...error };
      }
      expect(answers['good']).toEqual({ status: 200 });
      expect(answers['none']).toMatchObject({ status: 502, code: 'upstream_client_certificate_rejected' });
      expect(answers['foreign']).toMatchObject({ status: 502, code: 'upstream_client_certificate_rejected' });
      // A real alert, so no hedging: "TLS alert: unknown ca" (or similar), not "probably".
      expect(answers['foreign']?.message).toMatch(/TLS alert: /);
      expect(answers['foreign']?.message).not.toContain('probably');
    } finally {
      sserver.close();
    }
  });

  it('verify: false accepts an untrusted server certificate', async () => {
    const selfSigned = await issue({ cn: 'localhost', usage: 'server', sans: ['localhost'] });
    const upstream = await startTlsUpstream({
      server: selfSigned,
      clientCa: [root.certPem],
      maxVersion: version,
    });
    const f = await front(pools, () => ({
      url: upstream.url,
      certificate: runtime('a', clientA),
      tls: { verify: false },
    }));
    const res = await fetchLocal(f.port);
    expect(res.status).toBe(200);
    expect((JSON.parse(res.body) as PeerReport).protocol).toBe(version);
    await f.close();
    await upstream.close();
  });
});

describe('failure classification, transport', () => {
  const pools = new UpstreamPools();
  afterAll(() => pools.close());

  async function through(url: URL, options: { connectTimeoutMs?: number; headersTimeoutMs?: number } = {}) {
    const f = await front(pools, () => ({ url, certificate: null, tls: trustRoot() }), options);
    const res = await fetchLocal(f.port);
    await f.close();
    return {
      status: res.status,
      code: (JSON.parse(res.body) as { error: { code: string } }).error.code,
      result: f.results[0],
    };
  }

  it('a TLS version the upstream does not speak → upstream_tls_error', async () => {
    const upstream = await startTlsUpstream({
      server: serverCert,
      requestCert: false,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    const r = await through(upstream.url);
    await upstream.close();
    expect(r).toMatchObject({ status: 502, code: 'upstream_tls_error' });
  });

  it('connection refused → upstream_unreachable', async () => {
    const r = await through(new URL(`https://localhost:${await closedPort()}`));
    expect(r).toMatchObject({ status: 502, code: 'upstream_unreachable' });
    expect(r.result?.errorKind).toBe('connection_refused');
  });

  it('a plain-HTTP port behind an https:// URL → upstream_tls_error', async () => {
    const plain = http.createServer((_req, res) => res.end('plain'));
    const port = await listenLocal(plain);
    const r = await through(new URL(`https://localhost:${port}`));
    await closeServer(plain);
    expect(r).toMatchObject({ status: 502, code: 'upstream_tls_error' });
    expect(r.result?.errorKind).toBe('not_tls');
  });

  it('no TLS handshake within the connect timeout → upstream_timeout', async () => {
    const held = new Set<net.Socket>();
    const silent = net.createServer((s) => held.add(s)); // accepts TCP, never speaks TLS
    const port = await listenLocal(silent);
    const r = await through(new URL(`https://localhost:${port}`), { connectTimeoutMs: 200 });
    for (const s of held) s.destroy();
    await closeServer(silent);
    expect(r).toMatchObject({ status: 504, code: 'upstream_timeout' });
    expect(r.result?.errorKind).toBe('connect_timeout');
  });
});

/** Issue 11: nothing a certificate or a caller does can crash, freeze or exhaust the upstream side. */
describe('bounded and crash-free upstream side', () => {
  function capture(): { logger: Logger; lines: { msg: string; fields: LogFields | undefined }[] } {
    const lines: { msg: string; fields: LogFields | undefined }[] = [];
    const logger: Logger = {
      debug: () => {},
      info: () => {},
      warn: () => {},
      error: (msg, fields) => void lines.push({ msg, fields }),
      child: () => logger,
    };
    return { logger, lines };
  }

  /** A client certificate signed with SHA-1 by a SHA-256 CA: OpenSSL refuses it ("ca md too weak"). */
  function sha1Leaf(): { certPem: string; keyPem: Buffer } {
    const dir = mkdtempSync(join(tmpdir(), 'vg-sha1-'));
    const run = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
    run('req', '-x509', ...ec, '-subj', '/CN=sha1-ca', '-days', '2', '-keyout', 'ca.key', '-out', 'ca.pem');
    run('req', '-new', ...ec, '-subj', '/CN=sha1-leaf', '-keyout', 'l.key', '-out', 'l.csr');
    const certPem = execFileSync(
      'openssl',
      [
        'x509',
        '-req',
        '-in',
        'l.csr',
        '-CA',
        'ca.pem',
        '-CAkey',
        'ca.key',
        '-set_serial',
        '7',
        '-sha1',
        '-days',
        '2',
      ],
      { cwd: dir },
    ).toString();
    const keyPem = createPrivateKey(readFileSync(join(dir, 'l.key')))
      .export({ format: 'pem', type: 'pkcs8' })
      .toString();
    rmSync(dir, { recursive: true, force: true });
    return { certPem, keyPem: Buffer.from(keyPem) };
  }

  it('a certificate the TLS stack refuses answers 502 upstream_tls_error, is logged once and never thrown', async () => {
    const upstream = await startTlsUpstream({ server: serverCert, clientCa: [root.certPem] });
    const { logger, lines } = capture();
    const pools = new UpstreamPools({ logger });
    const weak = sha1Leaf();
    const sha1 = { ...runtime('sha1cert', clientA), chainPem: weak.certPem, keyPem: weak.keyPem };
    const mismatched = { ...runtime('mismatch', clientA), keyPem: Buffer.from(clientB.keyPem) };
    const good = runtime('good', clientA);
    let current: RuntimeCertificate = sha1;
    const f = await front(pools, () => ({ url: upstream.url, certificate: current, tls: trustRoot() }));
    for (const [certificate, reason] of [
      [sha1, /ca md too weak/],
      [mismatched, /key values mismatch/],
    ] as const) {
      current = certificate;
      for (let n = 0; n < 2; n++) {
        const res = await fetchLocal(f.port);
        expect(res.status).toBe(502);
        expect(res.headers['x-vaultgate-error']).toBe('upstream_tls_error');
        const { message } = (JSON.parse(res.body) as { error: { message: string } }).error;
        expect(message).toContain(certificate.id);
        expect(message).toMatch(reason);
        expect(res.body).not.toMatch(/PRIVATE KEY/);
      }
    }
    // One line per certificate, not per request, naming the certificate and never its key.
    expect(lines.map((l) => l.fields?.['certificate_id'])).toEqual(['sha1cert', 'mismatch']);
    expect(JSON.stringify(lines)).not.toMatch(/PRIVATE KEY/);
    expect(f.results.map((r) => r.errorKind)).toEqual(Array(4).fill('tls_context'));
    current = good; // the same pools keep serving the others
    expect((JSON.parse((await fetchLocal(f.port)).body) as PeerReport).clientCn).toBe('client-a');
    await f.close();
    pools.close();
    await upstream.close();
  });

  it('keeps at most maxPools pools, never closing one with a request in flight', async () => {
    let release: (() => void) | null = null;
    const slow = http.createServer((req, res) => {
      if (req.url === '/slow') release = () => res.end('slow done');
      else res.end('ok');
    });
    const port = await listenLocal(slow);
    const pools = new UpstreamPools({ maxPools: 10 });
    const busy = new URL(`http://127.0.0.1:${port}`);
    const f = await front(pools, () => ({ url: new URL('/slow', busy), certificate: null }));
    const inFlight = fetchLocal(f.port, { path: '/slow' });
    await until(() => release !== null);
    const busyAgent = pools.agentFor({ origin: busy, certificate: null });
    // 500 distinct origins, the way a proxy credential can name them.
    for (let n = 0; n < 500; n++)
      pools.agentFor({ origin: new URL(`http://h${n}.example:${port}`), certificate: null });
    expect(pools.stats().pools).toBeLessThanOrEqual(10);
    // The busy pool was passed over each time, however old.
    pools.sweep(performance.now() + 1);
    expect(pools.stats().pools).toBe(1);
    expect(pools.agentFor({ origin: busy, certificate: null })).toBe(busyAgent);
    (release as unknown as () => void)();
    expect((await inFlight).body).toBe('slow done');
    await f.close();
    pools.close();
    await closeServer(slow);
  });

  it('closes pools left idle for poolIdleMs, and a holder of a closed pool is moved to a live one', async () => {
    const plain = http.createServer((_req, res) => res.end('ok'));
    const port = await listenLocal(plain);
    const pools = new UpstreamPools({ poolIdleMs: 100 });
    const origin = new URL(`http://127.0.0.1:${port}`);
    const held = pools.agentFor({ origin, certificate: null }); // as a CONNECT tunnel keeps its choice
    const front2 = http.createServer((req, res) => {
      void forward(req, res, { url: origin, agent: held, hostHeader: origin.host, forwarded: null });
    });
    const frontPort = await listenLocal(front2);
    expect((await fetchLocal(frontPort)).body).toBe('ok');
    await until(() => pools.stats().pools === 0, 10_000); // the sweep timer closed it
    expect((await fetchLocal(frontPort)).body).toBe('ok');
    // The request went through a registered pool, so retainOnly and the sweep still see it.
    expect(pools.stats().pools).toBe(1);
    expect(pools.agentFor({ origin, certificate: null })).not.toBe(held);
    await closeServer(front2);
    pools.close();
    await closeServer(plain);
  });

  it('serves a saturated pool fairly: a crowd from one client delays another client by one slot', async () => {
    const arrivals: string[] = [];
    const waiting: http.ServerResponse[] = [];
    const upstream = http.createServer((req, res) => {
      arrivals.push(String(req.headers['x-who']));
      waiting.push(res);
    });
    const port = await listenLocal(upstream);
    const origin = new URL(`http://127.0.0.1:${port}`);
    const pools = new UpstreamPools({ maxSockets: 2 });
    const f = await front(pools, () => ({ url: origin, certificate: null }));
    const from = (localAddress: string, who: string): Promise<number> =>
      new Promise((resolve, reject) => {
        http
          .get(
            { host: '127.0.0.1', port: f.port, localAddress, agent: false, headers: { 'x-who': who } },
            (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            },
          )
          .on('error', reject);
      });
    const gate = gateOf(pools.agentFor({ origin, certificate: null }));
    const crowd = Array.from({ length: 8 }, (_, n) => from('127.0.0.1', `a${n}`));
    await until(() => arrivals.length === 2 && gate?.waitingCount === 6);
    const single = from('127.0.0.2', 'b');
    await until(() => gate?.waitingCount === 7);
    // Free one slot: the other client's request goes next, ahead of the crowd's six.
    waiting.shift()?.end();
    await until(() => arrivals.length === 3);
    expect(arrivals[2]).toBe('b');
    while (arrivals.length < 9 || waiting.length > 0) {
      waiting.shift()?.end();
      await new Promise((r) => setImmediate(r));
    }
    expect(await single).toBe(200);
    expect(await Promise.all(crowd)).toEqual(Array(8).fill(200));
    await f.close();
    pools.close();
    await closeServer(upstream);
  });

  it('a request body that stalls → 408 request_timeout, the upstream request aborted and its slot freed', async () => {
    let aborted = 0;
    const upstream = http.createServer((req, res) => {
      req.on('close', () => {
        if (!req.complete) aborted++;
      });
      req.resume();
      req.on('end', () => res.end('complete'));
    });
    const port = await listenLocal(upstream);
    const origin = new URL(`http://127.0.0.1:${port}`);
    const pools = new UpstreamPools({ maxSockets: 1 });
    const f = await front(pools, () => ({ url: origin, certificate: null }), { bodyTimeoutMs: 300 });
    // One byte of a declared ten, then silence, holding the pool's only connection.
    const raw = net.connect(f.port, '127.0.0.1');
    raw.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nA');
    let answer = '';
    raw.on('data', (c: Buffer) => (answer += c.toString()));
    await new Promise((r) => raw.once('close', r));
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect(answer).toMatch(/x-vaultgate-error: request_timeout/i);
    expect(answer).toMatch(/connection: close/i);
    await until(() => aborted === 1);
    expect(f.results[0]).toMatchObject({ errorCode: 'request_timeout', errorKind: 'request_body_timeout' });
    // The only slot is free again: a well-behaved request goes through.
    expect((await fetchLocal(f.port, { method: 'POST', body: 'hello' })).body).toBe('complete');
    await f.close();
    pools.close();
    await closeServer(upstream);
  });

  it('a body that arrives slowly but steadily is not cut', async () => {
    const upstream = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => res.end(body));
    });
    const port = await listenLocal(upstream);
    const origin = new URL(`http://127.0.0.1:${port}`);
    const pools = new UpstreamPools();
    const f = await front(pools, () => ({ url: origin, certificate: null }), { bodyTimeoutMs: 400 });
    const res = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: f.port, method: 'POST', agent: false }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve(body));
      });
      req.on('error', reject);
      let n = 0;
      const tick = setInterval(() => {
        req.write(String(n));
        if (++n === 6) {
          clearInterval(tick);
          req.end();
        }
      }, 150); // 900 ms in all, never 400 ms silent
    });
    expect(res).toBe('012345');
    await f.close();
    pools.close();
    await closeServer(upstream);
  });
});

/** Issue 12: two clients per pool — undici for plain requests, the agent for Expect and chunked ones. */
describe('the two upstream clients of a pool', () => {
  /** A front whose every request goes through `agent` (as a CONNECT tunnel holds its choice). */
  async function frontVia(agent: () => http.Agent, url: URL) {
    const results: ForwardResult[] = [];
    const server = http.createServer((req, res) => {
      const target = {
        url: new URL(req.url ?? '/', url),
        agent: agent(),
        hostHeader: url.host,
        forwarded: null,
      };
      void forward(req, res, target).then((r) => results.push(r));
    });
    server.on('checkContinue', (req, res) => server.emit('request', req, res));
    return { port: await listenLocal(server), results, close: () => closeServer(server) };
  }

  const freeAgentSockets = (agent: http.Agent): number => Object.values(agent.freeSockets).flat().length;

  it('sends bodiless and Content-Length requests through undici, chunked ones through the agent', async () => {
    const upstream = await startTlsUpstream({ server: serverCert, clientCa: [root.certPem] });
    const pools = new UpstreamPools();
    const agent = pools.agentFor({
      origin: upstream.url,
      certificate: runtime('a', clientA),
      tls: trustRoot(),
    });
    const f = await frontVia(() => agent, upstream.url);
    expect(JSON.parse((await fetchLocal(f.port)).body)).toMatchObject({ clientCn: 'client-a' });
    expect((await fetchLocal(f.port, { method: 'PUT', body: 'hello' })).status).toBe(200);
    // Both went over one undici connection; the agent opened none.
    expect(laneOf(agent)?.hasIdleConnections()).toBe(true);
    expect(freeAgentSockets(agent)).toBe(0);
    expect(f.results.map((r) => [r.certificateId, r.reusedConnection])).toEqual([
      ['a', false],
      ['a', true],
    ]);
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: f.port, method: 'POST', agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write('a');
      req.end('b');
    });
    expect(chunked).toBe(200);
    await until(() => freeAgentSockets(agent) === 1); // the chunked request used the agent
    expect(pools.stats().handshakes).toBe(2);
    await f.close();
    pools.close();
    await upstream.close();
  });

  it('retirement covers the undici connections: idle ones close, in-flight ones finish, none is opened again', async () => {
    let release: (() => void) | null = null;
    const slow = await startTlsUpstream({
      server: serverCert,
      clientCa: [root.certPem],
      handler: (req, res) => {
        const answer = (): void => void res.end('done');
        if (req.url === '/slow') release = answer;
        else answer();
      },
    });
    const pools = new UpstreamPools();
    const idle = pools.agentFor({
      origin: slow.url,
      certificate: runtime('idle', clientA),
      tls: trustRoot(),
    });
    const busy = pools.agentFor({
      origin: slow.url,
      certificate: runtime('busy', clientB),
      tls: trustRoot(),
    });
    const idleFront = await frontVia(() => idle, slow.url);
    const busyFront = await frontVia(() => busy, slow.url);
    expect((await fetchLocal(idleFront.port)).body).toBe('done');
    const inFlight = fetchLocal(busyFront.port, { path: '/slow' });
    await until(() => release !== null && slow.open() === 2);
    expect(freeAgentSockets(idle) + freeAgentSockets(busy)).toBe(0); // both over undici

    pools.retainOnly(new Set());
    await until(() => slow.open() === 1); // the idle undici connection is gone at once
    (release as unknown as () => void)();
    expect((await inFlight).body).toBe('done'); // the in-flight request completes…
    await until(() => slow.open() === 0); // …and its connection is closed instead of kept
    // A holder of the retired pool gets an error, and the deleted certificate is not presented again.
    const again = await fetchLocal(busyFront.port);
    expect(again.status).toBe(502);
    expect(busyFront.results[1]).toMatchObject({ errorKind: 'pool_retired', certificateId: 'busy' });
    expect(slow.open()).toBe(0);
    expect(pools.stats().handshakes).toBe(2);
    await idleFront.close();
    await busyFront.close();
    pools.close();
    await slow.close();
  });
});
