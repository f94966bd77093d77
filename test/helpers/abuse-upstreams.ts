/**
 * Upstreams for the reliability scenarios: a well-behaved one that counts the requests it sees (to
 * prove a smuggled request never arrives), and faulty ones — resets mid-response, stalls, TLS
 * alerts, expired and wrong-host certificates, idle connections closed under the pool. All listen on
 * 127.0.0.1 and track their sockets so closing them leaves nothing behind.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { issue, type Issued } from './tls-upstream.js';

export interface Pki {
  root: Issued;
  /** Valid for localhost and 127.0.0.1. */
  server: Issued;
  expired: Issued;
  /** Valid, but for another host name only. */
  otherHost: Issued;
}

export async function makePki(): Promise<Pki> {
  const root = await issue({ cn: 'reliability upstream root', ca: true });
  const sans = ['localhost', '127.0.0.1'];
  const day = 86_400_000;
  return {
    root,
    server: await issue({ cn: 'localhost', issuer: root, usage: 'server', sans }),
    expired: await issue({
      cn: 'localhost',
      issuer: root,
      usage: 'server',
      sans,
      notBefore: new Date(Date.now() - 30 * day),
      notAfter: new Date(Date.now() - day),
    }),
    otherHost: await issue({ cn: 'other.example', issuer: root, usage: 'server', sans: ['other.example'] }),
  };
}

export interface TestUpstream {
  port: number;
  /** `http(s)://localhost:port` */
  url: string;
  /** Request paths seen, in order. */
  paths: string[];
  close(): Promise<void>;
}

function track(server: net.Server): Set<Duplex> {
  const sockets = new Set<Duplex>();
  const add = (socket: Duplex): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  server.on('connection', add);
  return sockets;
}

async function listen(
  server: net.Server,
  sockets: Set<Duplex>,
  scheme: string,
  paths: string[],
): Promise<TestUpstream> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `${scheme}://localhost:${port}`,
    paths,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export type Behaviour =
  | 'ok'
  /** Sends the head and part of the body, then cuts the connection. */
  | 'reset-mid-response'
  /** Reads the request and never answers. */
  | 'stall'
  /** Answers, keeps the connection alive without a Keep-Alive hint, then closes it while idle. */
  | 'idle-close';

/** An HTTP or HTTPS upstream with one behaviour; `ok` answers `{"path": …}`. */
export async function startUpstream(opts: {
  behaviour: Behaviour;
  tls?: Issued;
  /** For idle-close: how long after each answer the idle connection is closed. */
  idleCloseMs?: number;
}): Promise<TestUpstream> {
  const paths: string[] = [];
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    paths.push(req.url ?? '');
    req.resume();
    req.once('end', () => {
      switch (opts.behaviour) {
        case 'stall':
          return;
        case 'reset-mid-response':
          res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100000' });
          res.write('x'.repeat(1000), () => setTimeout(() => req.socket.destroy(), 20));
          return;
        case 'idle-close':
          res.end(JSON.stringify({ path: req.url }), () => {
            setTimeout(() => req.socket.destroy(), opts.idleCloseMs ?? 100);
          });
          return;
        case 'ok':
          res.setHeader('content-type', 'application/json');
          res.end(JSON.stringify({ path: req.url }));
      }
    });
  };
  const server = opts.tls
    ? https.createServer({ cert: opts.tls.certPem, key: opts.tls.keyPem }, handler)
    : http.createServer(handler);
  // idle-close must not advertise `Keep-Alive: timeout=…`, which Node's agent honours by itself: the
  // point is a server that closes pooled connections without warning, as load balancers do.
  if (opts.behaviour === 'idle-close') server.keepAliveTimeout = 0;
  server.on('tlsClientError', () => {});
  const sockets = track(server);
  if (opts.tls) server.on('secureConnection', (s: Duplex) => sockets.add(s));
  return listen(server, sockets, opts.tls ? 'https' : 'http', paths);
}

/**
 * A TCP server that answers the first bytes it gets (the ClientHello) with a fatal TLS alert,
 * handshake_failure(40), and closes — what a server with no cipher suite in common sends.
 */
export async function startAlertUpstream(): Promise<TestUpstream> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', () => socket.end(Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28])));
  });
  const sockets = track(server);
  return listen(server, sockets, 'https', []);
}
