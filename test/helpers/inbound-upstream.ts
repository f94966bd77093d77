/**
 * Upstreams for the inbound end-to-end tests: an HTTPS server (Node) that can demand a client
 * certificate and answers with JSON naming the certificate, connection, SNI, path and headers it got,
 * tracks which of its connections are still open, and can hold chosen requests until released. (The
 * `openssl s_server` upstream, which refuses with real TLS alerts, is in tls-upstream.ts.)
 */
import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecureVersion, TLSSocket } from 'node:tls';
import { makeCa, makeLeaf, type Issued } from './pki-fixtures.js';

export interface Pem {
  readonly certPem: string;
  readonly keyPem: string;
}

/** What the upstream saw, as a user debugging an mTLS setup would want to know it. */
export interface UpstreamReport {
  connection: number;
  authorized: boolean;
  clientCn: string | null;
  clientFingerprint256: string | null;
  /** CN of the issuer certificate the client sent after its leaf (null without a chain). */
  clientIssuerCn: string | null;
  protocol: string | null;
  /** SNI the client sent (false when none). */
  servername: string | false;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaderNames: string[];
  bodyBytes: number;
  bodySha256: string;
}

export interface UpstreamOptions {
  server: Pem;
  /** CAs whose client certificates are accepted; with it, a certificate is mandatory. */
  clientCa?: string[];
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
  /** Requests whose path starts with this prefix wait for `release()` before they are answered. */
  holdPrefix?: string;
  /** Replaces the JSON report entirely. */
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface Upstream {
  url: URL;
  port: number;
  /** Connection ids (accept order, from 1) that are still open. */
  openConnections(): number[];
  /** Resolves when `n` requests are being held. */
  held(n: number): Promise<void>;
  release(): void;
  close(): Promise<void>;
}

export function fingerprintOf(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}

export async function startUpstream(opts: UpstreamOptions): Promise<Upstream> {
  const ids = new WeakMap<object, number>();
  const open = new Map<number, TLSSocket>();
  let accepted = 0;
  let waiting: (() => void)[] = [];
  const demand = opts.clientCa !== undefined;

  const report = (req: IncomingMessage, res: ServerResponse): void => {
    const socket = req.socket as TLSSocket;
    const hash = createHash('sha256');
    let bodyBytes = 0;
    req.on('data', (chunk: Buffer) => {
      bodyBytes += chunk.length;
      hash.update(chunk);
    });
    req.on('end', () => {
      const answer = (): void => {
        const peer = socket.getPeerCertificate(true);
        const has = peer !== null && Object.keys(peer).length > 0;
        const issuer = has && peer.issuerCertificate !== peer ? peer.issuerCertificate : undefined;
        const body: UpstreamReport = {
          connection: ids.get(socket) ?? 0,
          authorized: socket.authorized,
          clientCn: has ? String(peer.subject.CN) : null,
          clientFingerprint256: has ? peer.fingerprint256 : null,
          clientIssuerCn: issuer ? String(issuer.subject.CN) : null,
          protocol: socket.getProtocol(),
          servername: (socket as TLSSocket & { servername: string | false }).servername,
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          rawHeaderNames: req.rawHeaders.filter((_, i) => i % 2 === 0),
          bodyBytes,
          bodySha256: hash.digest('hex'),
        };
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };
      if (opts.holdPrefix !== undefined && (req.url ?? '').startsWith(opts.holdPrefix)) waiting.push(answer);
      else answer();
    });
  };

  const server = https.createServer(
    {
      cert: opts.server.certPem,
      key: opts.server.keyPem,
      ...(demand ? { ca: opts.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
      ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
      keepAliveTimeout: 30_000,
    },
    opts.handler ?? report,
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    const id = ++accepted;
    ids.set(socket, id);
    open.set(id, socket);
    socket.once('close', () => open.delete(id));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: new URL(`https://localhost:${port}`),
    port,
    openConnections: () => [...open.keys()].sort((a, b) => a - b),
    async held(n) {
      while (waiting.length < n) await new Promise((r) => setTimeout(r, 5));
    },
    release() {
      const answers = waiting;
      waiting = [];
      for (const answer of answers) answer();
    },
    async close() {
      for (const socket of open.values()) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * An HTTPS upstream on localhost that demands a client certificate from `clientCa`, with its server
 * certificate from `serverCa`: what an inbound route with a client certificate is tested against.
 */
export async function startMtlsUpstream(
  label: string,
): Promise<{ clientCa: Issued; serverCa: Issued; upstream: Upstream }> {
  const clientCa = makeCa({ cn: `${label} Client Root` });
  const serverCa = makeCa({ cn: `${label} Server Root` });
  const server = makeLeaf({
    issuer: serverCa,
    cn: 'localhost',
    eku: ['serverAuth'],
    sans: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  const upstream = await startUpstream({ server, clientCa: [clientCa.certPem] });
  return { clientCa, serverCa, upstream };
}
