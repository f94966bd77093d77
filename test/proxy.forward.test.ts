import { createHash } from 'node:crypto';
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { forward, type ForwardOptions, type ForwardResult } from '../src/proxy/http/forward.js';
import { UpstreamPools } from '../src/proxy/upstream/pools.js';
import { closeServer, fetchLocal, issue, listenLocal, startTlsUpstream } from './helpers/tls-upstream.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const pools = new UpstreamPools();
let upstreamHandler: Handler = (_req, res) => res.end();
let upstream: http.Server;
let upstreamUrl: URL;
let frontPort: number;
let front: http.Server;
let options: ForwardOptions = {};
let results: ForwardResult[] = [];

/** The proxy under test: every request goes to the plain-HTTP upstream, forwarded as inbound would. */
function frontHandler(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', upstreamUrl);
  const agent = pools.agentFor({ origin: url, certificate: null });
  const forwarded = { for: req.socket.remoteAddress ?? '', proto: 'https' as const, host: 'vault.example' };
  void forward(req, res, { url, agent, hostHeader: url.host, forwarded }, options).then((r) =>
    results.push(r),
  );
}

beforeAll(async () => {
  upstream = http.createServer((req, res) => upstreamHandler(req, res));
  upstream.on('checkContinue', (req, res) => upstreamHandler(req, res));
  upstreamUrl = new URL(`http://127.0.0.1:${await listenLocal(upstream)}`);
  front = http.createServer(frontHandler);
  // What the inbound/outbound proxies must wire so the upstream decides about 100 Continue.
  front.on('checkContinue', frontHandler);
  frontPort = await listenLocal(front);
});

afterAll(async () => {
  pools.close();
  await closeServer(front);
  await closeServer(upstream);
});

afterEach(() => {
  options = {};
  results = [];
});

const echo: Handler = (req, res) => {
  let bytes = 0;
  const hash = createHash('sha256');
  req.on('data', (c: Buffer) => {
    bytes += c.length;
    hash.update(c);
  });
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(
      JSON.stringify({
        headers: req.headers,
        rawHeaders: req.rawHeaders,
        bytes,
        sha: hash.digest('hex'),
        trailers: req.trailers,
      }),
    );
  });
};

describe('forward', () => {
  it('removes hop-by-hop headers, sets Host and X-Forwarded-*, keeps TE: trailers', async () => {
    upstreamHandler = echo;
    const res = await fetchLocal(frontPort, {
      path: '/a/b?q=1',
      headers: {
        connection: 'keep-alive, x-connection-named',
        'x-connection-named': 'secret',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic dXNlcjpwYXNz',
        'proxy-connection': 'keep-alive',
        te: 'trailers, deflate',
        upgrade: 'websocket',
        'x-forwarded-for': '203.0.113.7',
        'x-forwarded-host': 'spoofed.example',
        'x-custom': 'kept',
      },
    });
    const seen = JSON.parse(res.body) as { headers: Record<string, string> };
    expect(seen.headers).toMatchObject({
      host: upstreamUrl.host,
      te: 'trailers',
      'x-custom': 'kept',
      'x-forwarded-for': '203.0.113.7, 127.0.0.1',
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'vault.example',
    });
    for (const name of [
      'x-connection-named',
      'keep-alive',
      'proxy-authorization',
      'proxy-connection',
      'upgrade',
    ]) {
      expect(seen.headers).not.toHaveProperty(name);
    }
  });

  it('removes hop-by-hop headers from the response and keeps repeated fields', async () => {
    upstreamHandler = (_req, res) => {
      res.writeHead(201, 'Made', [
        ['Connection', 'x-hop'],
        ['X-Hop', 'secret'],
        ['Keep-Alive', 'timeout=5'],
        ['Proxy-Authenticate', 'Basic realm="upstream"'],
        ['Set-Cookie', 'a=1'],
        ['Set-Cookie', 'b=2'],
        ['X-Kept', 'yes'],
      ]);
      res.end('made');
    };
    const res = await fetchLocal(frontPort);
    expect(res.status).toBe(201);
    expect(res.body).toBe('made');
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);
    expect(res.headers['x-kept']).toBe('yes');
    expect(res.headers).not.toHaveProperty('x-hop');
    expect(res.headers).not.toHaveProperty('proxy-authenticate');
    expect(results[0]).toMatchObject({ status: 201, bytesDown: 4, errorCode: null, certificateId: null });
  });

  it('streams a chunked upload and a streaming download without buffering them', async () => {
    upstreamHandler = echo;
    const chunk = Buffer.alloc(64 * 1024, 7);
    const answer = await new Promise<{ bytes: number; sha: string; headers: Record<string, string> }>(
      (resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: frontPort,
          method: 'POST',
          path: '/up',
          agent: false,
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () =>
            resolve(JSON.parse(body) as { bytes: number; sha: string; headers: Record<string, string> }),
          );
        });
        req.on('error', reject);
        for (let i = 0; i < 32; i++) req.write(chunk);
        req.end();
      },
    );
    const expected = createHash('sha256');
    for (let i = 0; i < 32; i++) expected.update(chunk);
    expect(answer).toMatchObject({ bytes: 32 * chunk.length, sha: expected.digest('hex') });
    expect(answer.headers['transfer-encoding']).toBe('chunked');
    expect(results[0]?.bytesUp).toBe(32 * chunk.length);

    // Download: the upstream sends the second half only once the client has received the first.
    let sendRest: (() => void) | null = null;
    upstreamHandler = (_req, res) => {
      res.write('first;');
      sendRest = () => res.end('second');
    };
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: frontPort, path: '/down', agent: false }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
            if (text === 'first;') (sendRest as unknown as () => void)();
          });
          res.on('end', () => resolve(text));
        })
        .on('error', reject);
    });
    expect(body).toBe('first;second');
  });

  it('forwards a Content-Length body as such', async () => {
    upstreamHandler = echo;
    const res = await fetchLocal(frontPort, {
      method: 'PUT',
      headers: { 'content-length': '5' },
      body: 'hello',
    });
    const seen = JSON.parse(res.body) as { headers: Record<string, string>; bytes: number };
    expect(seen.bytes).toBe(5);
    expect(seen.headers['content-length']).toBe('5');
    expect(seen.headers).not.toHaveProperty('transfer-encoding');
  });

  it('relays 100 Continue from the upstream, and a refusal without the body being sent', async () => {
    upstreamHandler = (req, res) => {
      if (req.headers['x-refuse'] !== undefined) {
        res.writeHead(401).end('no');
        return;
      }
      res.writeContinue();
      echo(req, res);
    };
    const send = (refuse: boolean) =>
      new Promise<{ status: number; continued: boolean; body: string }>((resolve, reject) => {
        let continued = false;
        const req = http.request({
          host: '127.0.0.1',
          port: frontPort,
          method: 'POST',
          agent: false,
          headers: { expect: '100-continue', 'content-length': '4', ...(refuse ? { 'x-refuse': '1' } : {}) },
        });
        req.on('continue', () => {
          continued = true;
          req.end('data');
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, continued, body }));
        });
        req.on('error', reject);
        req.flushHeaders();
      });
    const ok = await send(false);
    expect(ok).toMatchObject({ status: 200, continued: true });
    expect((JSON.parse(ok.body) as { bytes: number }).bytes).toBe(4);
    expect(await send(true)).toMatchObject({ status: 401, continued: false, body: 'no' });
  });

  it('passes response trailers to the client and request trailers to the upstream', async () => {
    upstreamHandler = (req, res) => {
      req.resume();
      req.on('end', () => {
        res.writeHead(200, { trailer: 'x-checksum', 'x-request-trailer': req.trailers['x-sent'] ?? 'none' });
        res.write('payload');
        res.addTrailers({ 'x-checksum': 'abc123' });
        res.end();
      });
    };
    const answer = await new Promise<{ trailers: NodeJS.Dict<string>; headers: http.IncomingHttpHeaders }>(
      (resolve, reject) => {
        const req = http.request({
          host: '127.0.0.1',
          port: frontPort,
          method: 'POST',
          agent: false,
          headers: { trailer: 'x-sent', te: 'trailers' },
        });
        req.on('response', (res) => {
          res.resume();
          res.on('end', () => resolve({ trailers: res.trailers, headers: res.headers }));
        });
        req.on('error', reject);
        req.write('body');
        req.addTrailers({ 'x-sent': 'yes' });
        req.end();
      },
    );
    expect(answer.trailers['x-checksum']).toBe('abc123');
    expect(answer.headers['x-request-trailer']).toBe('yes');
  });

  it('passes response trailers to the client for a bodiless request too (the undici path)', async () => {
    upstreamHandler = (_req, res) => {
      res.writeHead(200, { trailer: 'x-checksum' });
      res.write('payload');
      res.addTrailers({ 'x-checksum': 'def456' });
      res.end();
    };
    const answer = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: frontPort, agent: false, headers: { te: 'trailers' } }, (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ body, trailers: res.trailers }));
        })
        .on('error', reject);
    });
    expect(answer).toEqual({ body: 'payload', trailers: { 'x-checksum': 'def456' } });
  });

  it('forwards an empty Content-Length body and a bodiless POST with Content-Length: 0', async () => {
    upstreamHandler = echo;
    for (const headers of [{ 'content-length': '0' }, {}] as Record<string, string>[]) {
      const res = await fetchLocal(frontPort, { method: 'POST', headers });
      const seen = JSON.parse(res.body) as { headers: Record<string, string>; bytes: number };
      expect(seen).toMatchObject({ bytes: 0, headers: { 'content-length': '0' } });
      expect(seen.headers).not.toHaveProperty('transfer-encoding');
    }
  });

  it('answers 504 upstream_timeout when the upstream sends no headers in time', async () => {
    options = { headersTimeoutMs: 200 };
    let stalled: http.ServerResponse | null = null;
    upstreamHandler = (_req, res) => void (stalled = res);
    const res = await fetchLocal(frontPort);
    expect(res.status).toBe(504);
    expect(res.headers['x-vaultgate-error']).toBe('upstream_timeout');
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'upstream_timeout' } });
    expect(results[0]).toMatchObject({ errorKind: 'headers_timeout', status: null });
    (stalled as unknown as http.ServerResponse | null)?.destroy();
  });

  it('answers 502 upstream_unreachable when the upstream resets before responding', async () => {
    upstreamHandler = (req) => req.socket.destroy();
    const res = await fetchLocal(frontPort, { method: 'POST', body: 'x' });
    expect(res.status).toBe(502);
    expect(JSON.parse(res.body)).toMatchObject({ error: { code: 'upstream_unreachable' } });
  });

  it('retries a bodiless request once on a fresh connection when a pooled one was closed under it', async () => {
    const served = new WeakMap<object, number>();
    upstreamHandler = (req, res) => {
      const n = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, n);
      if (n === 2)
        req.socket.destroy(); // the keep-alive race: the server drops a reused connection
      else res.end(`ok ${n}`);
    };
    expect((await fetchLocal(frontPort)).body).toBe('ok 1');
    const second = await fetchLocal(frontPort);
    expect(second).toMatchObject({ status: 200, body: 'ok 1' });
    expect(results[1]).toMatchObject({ status: 200, reusedConnection: false, errorCode: null });
  });

  it('cuts the client response when the upstream breaks after the headers', async () => {
    upstreamHandler = (req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setTimeout(() => req.socket.destroy(), 20);
    };
    await expect(fetchLocal(frontPort)).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    expect(results[0]).toMatchObject({
      status: 200,
      errorCode: 'upstream_unreachable',
      clientAborted: false,
    });
  });

  it('aborts the upstream request when the client goes away', async () => {
    let upstreamClosed: () => void = () => undefined;
    const closed = new Promise<void>((r) => (upstreamClosed = r));
    upstreamHandler = (_req, res) => res.on('close', () => upstreamClosed());
    const req = http.get({ host: '127.0.0.1', port: frontPort, agent: false });
    req.on('error', () => undefined);
    await new Promise((r) => setTimeout(r, 100));
    req.destroy();
    await closed;
    await new Promise((r) => setTimeout(r, 20));
    expect(results[0]).toMatchObject({ clientAborted: true, status: null });
  });
});

describe('forward over TLS', () => {
  it('reports the certificate presented and reuses the pooled connection', async () => {
    const root = await issue({ cn: 'Forward Root', ca: true });
    const server = await issue({ cn: 'localhost', issuer: root, usage: 'server', sans: ['localhost'] });
    const client = await issue({ cn: 'forward-client', issuer: root });
    const tlsUpstream = await startTlsUpstream({ server, clientCa: [root.certPem] });
    const certificate = {
      id: 'cert-1',
      vaultId: 'tnt00000001',
      proxyType: 'inbound' as const,
      hosts: [],
      notBefore: 0,
      notAfter: Number.MAX_SAFE_INTEGER,
      createdAt: 0,
      chainPem: client.certPem,
      keyPem: Buffer.from(client.keyPem),
    };
    const tlsPools = new UpstreamPools({ extraCaPem: root.certPem });
    const tlsResults: ForwardResult[] = [];
    const tlsFront = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', tlsUpstream.url);
      const agent = tlsPools.agentFor({ origin: url, certificate, tls: { verify: true } });
      void forward(req, res, { url, agent, hostHeader: url.host, forwarded: null }).then((r) =>
        tlsResults.push(r),
      );
    });
    const port = await listenLocal(tlsFront);
    for (let i = 0; i < 3; i++) {
      const res = await fetchLocal(port, { path: `/n/${i}` });
      expect(JSON.parse(res.body)).toMatchObject({
        clientCn: 'forward-client',
        url: `/n/${i}`,
        connection: 1,
      });
    }
    expect(tlsResults.map((r) => [r.certificateId, r.reusedConnection])).toEqual([
      ['cert-1', false],
      ['cert-1', true],
      ['cert-1', true],
    ]);
    expect(tlsPools.stats().handshakes).toBe(1);
    tlsPools.close();
    await closeServer(tlsFront);
    await tlsUpstream.close();
  });
});
