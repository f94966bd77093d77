/**
 * Hostile and careful clients for the reliability scenarios: raw sockets to each kind of listener
 * (plain, TLS, inside a CONNECT tunnel), a Slowloris that trickles its request head, raw exchanges
 * that read whatever comes back, and an HTTP request through a tunnel. Every wait is bounded.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import { basic, rawConnect, type Cred } from './outbound-client.js';

/** Opens a connection to one listener, ready to carry HTTP/1.1 bytes. */
export type Connector = () => Promise<Duplex>;

export function plainConnector(port: number, localAddress?: string): Connector {
  return () =>
    new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', ...(localAddress ? { localAddress } : {}) });
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
}

export function tlsConnector(port: number, ca: string, servername = 'localhost'): Connector {
  return () =>
    new Promise((resolve, reject) => {
      const socket = tls.connect({ port, host: '127.0.0.1', ca, servername, ALPNProtocols: ['http/1.1'] });
      socket.once('secureConnect', () => resolve(socket));
      socket.once('error', reject);
    });
}

/** A CONNECT tunnel through the proxy, with TLS to the interception certificate inside it. */
export function tunnelConnector(opts: {
  port: number;
  cred: Cred;
  target: string;
  /** The vault's outbound CA. */
  ca: string;
  /** The TLS listener's local CA, when the proxy port itself speaks TLS. */
  proxyCa?: string;
}): Connector {
  return async () => {
    const answer = await rawConnect(
      opts.port,
      opts.target,
      { 'Proxy-Authorization': basic(opts.cred) },
      opts.proxyCa ? { tlsCa: opts.proxyCa } : undefined,
    );
    if (answer.status !== 200) {
      answer.socket.destroy();
      throw new Error(`CONNECT answered ${answer.status}: ${answer.body}`);
    }
    const host = opts.target.slice(0, opts.target.lastIndexOf(':')).replace(/^\[|\]$/g, '');
    return new Promise((resolve, reject) => {
      const secure = tls.connect({
        socket: answer.socket as net.Socket,
        ca: opts.ca,
        ...(net.isIP(host) ? { host } : { servername: host }),
      });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', reject);
    });
  };
}

export interface RawResult {
  /** Everything the server sent, as latin1 text. */
  text: string;
  /** Status codes of every response head in `text`, in order. */
  statuses: number[];
  /** The server closed the connection before `ms` passed. */
  closed: boolean;
}

/** Writes `data` and collects what comes back until the server closes or `ms` pass. */
export async function rawExchange(connect: Connector, data: string | Buffer, ms = 3_000): Promise<RawResult> {
  const socket = await connect();
  return new Promise((resolve) => {
    let text = '';
    let closed = false;
    const done = (): void => {
      clearTimeout(timer);
      socket.destroy();
      const statuses = [...text.matchAll(/HTTP\/1\.[01] (\d{3})/g)].map((m) => Number(m[1]));
      resolve({ text, statuses, closed });
    };
    const timer = setTimeout(done, ms);
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    socket.once('close', () => {
      closed = true;
      done();
    });
    socket.write(data);
  });
}

/**
 * Slowloris: a request head sent one header line per `everyMs`, never finished. Resolves with how
 * long the server let it live (or `maxMs` when it never closed it) and the status it answered with.
 */
export async function slowHeaders(
  connect: Connector,
  opts: { everyMs?: number; maxMs?: number } = {},
): Promise<{ heldMs: number; closed: boolean; status: number | null }> {
  const everyMs = opts.everyMs ?? 1_000;
  const maxMs = opts.maxMs ?? 30_000;
  const socket = await connect();
  const started = Date.now();
  return new Promise((resolve) => {
    let text = '';
    let n = 0;
    const tick = setInterval(() => {
      if (socket.writable) socket.write(`X-Slow-${n++}: ${'a'.repeat(8)}\r\n`);
    }, everyMs);
    const done = (closed: boolean): void => {
      clearInterval(tick);
      clearTimeout(limit);
      socket.destroy();
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ heldMs: Date.now() - started, closed, status: m ? Number(m[1]) : null });
    };
    const limit = setTimeout(() => done(false), maxMs);
    socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
    socket.on('error', () => {});
    socket.once('close', () => done(true));
    socket.write('GET / HTTP/1.1\r\nHost: localhost\r\n');
  });
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The response body ended early (the connection was cut mid-response). */
  cut: boolean;
}

/** One HTTP/1.1 request on a socket from `connect`; rejects after `ms` so nothing can hang. */
export async function requestOver(
  connect: Connector,
  opts: { path?: string; host?: string; method?: string; headers?: Record<string, string>; ms?: number } = {},
): Promise<Reply> {
  const socket = await connect();
  const ms = opts.ms ?? 20_000;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      req.destroy();
      socket.destroy();
      reject(new Error(`no complete answer within ${ms} ms`));
    }, ms);
    const req = http.request(
      {
        createConnection: () => socket,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: { host: opts.host ?? 'localhost', connection: 'close', ...opts.headers },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        const finish = (cut: boolean): void => {
          clearTimeout(timer);
          socket.destroy();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, cut });
        };
        res.once('end', () => finish(!res.complete));
        res.once('aborted', () => finish(true));
        res.once('error', () => finish(true));
      },
    );
    req.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    });
    req.end();
  });
}

/** The SPEC §5 code of a data-plane error answer, or '' when it is not one. */
export function errorCodeOf(reply: Pick<Reply, 'headers'>): string {
  const code = reply.headers['x-vaultgate-error'];
  return typeof code === 'string' ? code : '';
}
