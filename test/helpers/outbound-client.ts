/**
 * Small proxy clients for the outbound tests: a raw CONNECT (to read refusals exactly as sent), a tunnel
 * opener, an http.Agent whose connections are tunnels (keep-alive inside one tunnel), and a way to run
 * curl/python without blocking the event loop the in-process proxy needs.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

export interface Cred {
  username: string;
  password: string;
}

export function basic(cred: Cred): string {
  return 'Basic ' + Buffer.from(`${cred.username}:${cred.password}`).toString('base64');
}

export interface RawAnswer {
  status: number;
  head: string;
  headers: Record<string, string>;
  body: string;
  /** The socket, still open when the answer was a 200 (the tunnel). */
  socket: Duplex;
}

/** Sends `CONNECT target` and reads the answer's head (and body, for refusals). */
export function rawConnect(
  port: number,
  target: string,
  headers: Record<string, string> = {},
  via?: { tlsCa: string },
): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket: Duplex = via
      ? tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: via.tlsCa })
      : net.connect(port, '127.0.0.1');
    let buffer = Buffer.alloc(0);
    let parsed: (Omit<RawAnswer, 'body' | 'socket'> & { length: number; bodyStart: number }) | null = null;
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      if (parsed === null) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) return;
        const head = buffer.subarray(0, end).toString('latin1');
        const [statusLine, ...lines] = head.split('\r\n');
        const hdrs: Record<string, string> = {};
        for (const line of lines) {
          const i = line.indexOf(':');
          hdrs[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
        }
        parsed = {
          status: Number(statusLine?.split(' ')[1]),
          head,
          headers: hdrs,
          length: Number(hdrs['content-length'] ?? 0),
          bodyStart: end + 4,
        };
      }
      if (buffer.length - parsed.bodyStart >= parsed.length) {
        socket.off('data', onData);
        const body = buffer.subarray(parsed.bodyStart, parsed.bodyStart + parsed.length).toString('utf8');
        resolve({ status: parsed.status, head: parsed.head, headers: parsed.headers, body, socket });
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.once('close', () => {
      if (parsed === null) reject(new Error('proxy closed the connection without an answer'));
    });
    const lines = [`CONNECT ${target} HTTP/1.1`, `Host: ${target}`];
    for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
    socket.write(lines.join('\r\n') + '\r\n\r\n');
  });
}

export interface TunnelOptions {
  port: number;
  cred: Cred;
  /** host:port to CONNECT to. */
  target: string;
  /** The vault's outbound CA, trusted for the intercepted handshake. */
  ca: string;
  servername?: string;
}

/** CONNECT + TLS handshake with the interception certificate; resolves with the decrypted socket. */
export async function openTunnel(opts: TunnelOptions): Promise<tls.TLSSocket> {
  const answer = await rawConnect(opts.port, opts.target, { 'Proxy-Authorization': basic(opts.cred) });
  if (answer.status !== 200) {
    answer.socket.destroy();
    throw new Error(`CONNECT answered ${answer.status}: ${answer.body}`);
  }
  const host = opts.target.slice(0, opts.target.lastIndexOf(':')).replace(/^\[|\]$/g, '');
  return new Promise((resolve, reject) => {
    const secure = tls.connect({
      socket: answer.socket as net.Socket,
      ca: opts.ca,
      servername: opts.servername ?? (net.isIP(host) ? undefined : host),
      ...(net.isIP(host) ? { host } : {}),
    });
    secure.once('secureConnect', () => resolve(secure));
    secure.once('error', reject);
  });
}

/** An http.Agent whose every connection is a fresh tunnel through the proxy; counts them. */
export class TunnelAgent extends http.Agent {
  tunnels = 0;
  constructor(private readonly tunnel: TunnelOptions) {
    super({ keepAlive: true, maxSockets: 1 });
  }

  override createConnection(
    _options: http.ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    this.tunnels++;
    openTunnel(this.tunnel).then(
      (socket) => callback?.(null, socket),
      (err: Error) => callback?.(err, undefined as unknown as Duplex),
    );
    return undefined;
  }
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export function get(agent: http.Agent, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, path, headers: { host: 'localhost', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command asynchronously: the proxy under test lives in this process's event loop. */
export function run(file: string, args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}
