/**
 * Test-only PKI and TLS upstreams for the data-plane tests: a CA made in-process (ECDSA P-256 via
 * WebCrypto, so a whole hierarchy costs milliseconds), and an HTTPS upstream that demands a client
 * certificate and answers with JSON naming the one it received.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SecureVersion, TLSSocket } from 'node:tls';
// tsyringe (under @peculiar/x509) needs Reflect.getMetadata before it loads; the project ships a tiny one.
import '../../src/pki/reflect-metadata.js';
import * as x509 from '@peculiar/x509';

// Node's WebCrypto and the DOM typings the library was written against disagree on a few overloads.
x509.cryptoProvider.set(webcrypto as unknown as ReturnType<typeof x509.cryptoProvider.get>);
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const EC = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

export interface Issued {
  certPem: string;
  keyPem: string;
  key: KeyObject;
  /** SHA-256 fingerprint as Node prints it (colon-separated upper-case hex). */
  fingerprint256: string;
  /** For signing further certificates. */
  readonly signer: { cert: x509.X509Certificate; keys: CryptoKeyPair };
}

export interface IssueOptions {
  cn: string;
  issuer?: Issued;
  ca?: boolean;
  /** DNS names or IP literals for the subjectAltName (servers). */
  sans?: string[];
  usage?: 'server' | 'client';
  notBefore?: Date;
  notAfter?: Date;
}

export async function issue(opts: IssueOptions): Promise<Issued> {
  const keys = (await webcrypto.subtle.generateKey(EC, true, ['sign', 'verify'])) as CryptoKeyPair;
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(opts.ca === true, undefined, true),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
  ];
  if (opts.ca === true) {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign));
  } else {
    extensions.push(new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true));
    const eku = opts.usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth;
    extensions.push(new x509.ExtendedKeyUsageExtension([eku]));
  }
  if (opts.sans !== undefined) {
    const names = opts.sans.map((v) => ({ type: net.isIP(v) === 0 ? 'dns' : 'ip', value: v }) as const);
    extensions.push(new x509.SubjectAlternativeNameExtension(names));
  }
  if (opts.issuer !== undefined) {
    extensions.push(await x509.AuthorityKeyIdentifierExtension.create(opts.issuer.signer.cert));
  }
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${opts.cn}`,
    issuer: opts.issuer?.signer.cert.subject ?? `CN=${opts.cn}`,
    notBefore: opts.notBefore ?? new Date(now - DAY),
    notAfter: opts.notAfter ?? new Date(now + 30 * DAY),
    publicKey: keys.publicKey,
    signingKey: opts.issuer?.signer.keys.privateKey ?? keys.privateKey,
    signingAlgorithm: SIGN,
    extensions,
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${pkcs8.toString('base64').replace(/.{64}/g, '$&\n')}\n-----END PRIVATE KEY-----\n`;
  const certPem = cert.toString('pem') + '\n';
  return {
    certPem,
    keyPem,
    key: createPrivateKey(keyPem),
    fingerprint256: new X509Certificate(certPem).fingerprint256,
    signer: { cert, keys },
  };
}

export interface PeerReport {
  /** Which TLS connection served the request (1, 2, … in accept order). */
  connection: number;
  authorized: boolean;
  /** CN and fingerprint of the client certificate received, null when none was sent. */
  clientCn: string | null;
  clientFingerprint256: string | null;
  /** CN of the certificate that issued the client's leaf, as sent in the handshake (chain check). */
  clientIssuerCn: string | null;
  protocol: string | null;
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyBytes: number;
}

export interface TlsUpstreamOptions {
  server: Issued;
  /** CAs whose client certificates are accepted. */
  clientCa?: string[];
  /** Default true, with rejectUnauthorized: true: a client certificate is mandatory. */
  requestCert?: boolean;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
  /** Replaces the default JSON answer. */
  handler?: (req: IncomingMessage, res: ServerResponse) => void;
}

export interface TlsUpstream {
  url: URL;
  port: number;
  server: https.Server;
  /** TLS connections accepted so far, and the ones currently open. */
  accepted(): number;
  open(): number;
  close(): Promise<void>;
}

const connectionIds = new WeakMap<object, number>();

/** An HTTPS upstream that (by default) demands a client certificate and reports which one it got. */
export async function startTlsUpstream(opts: TlsUpstreamOptions): Promise<TlsUpstream> {
  let accepted = 0;
  const sockets = new Set<TLSSocket>();
  const requestCert = opts.requestCert ?? true;
  const server = https.createServer(
    {
      cert: opts.server.certPem,
      key: opts.server.keyPem,
      ...(opts.clientCa ? { ca: opts.clientCa } : {}),
      requestCert,
      rejectUnauthorized: requestCert,
      ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
    },
    opts.handler ?? report,
  );
  server.on('secureConnection', (socket: TLSSocket) => {
    connectionIds.set(socket, ++accepted);
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: new URL(`https://localhost:${port}`),
    port,
    server,
    accepted: () => accepted,
    open: () => sockets.size,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function report(req: IncomingMessage, res: ServerResponse): void {
  const socket = req.socket as TLSSocket;
  let bodyBytes = 0;
  req.on('data', (chunk: Buffer) => (bodyBytes += chunk.length));
  req.on('end', () => {
    const peer = socket.getPeerCertificate(true);
    const has = peer !== null && Object.keys(peer).length > 0;
    const issuer = has && peer.issuerCertificate !== peer ? peer.issuerCertificate : undefined;
    const body: PeerReport = {
      connection: connectionIds.get(socket) ?? 0,
      authorized: socket.authorized,
      clientCn: has ? String(peer.subject.CN) : null,
      clientFingerprint256: has ? peer.fingerprint256 : null,
      clientIssuerCn: issuer ? String(issuer.subject.CN) : null,
      protocol: socket.getProtocol(),
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      bodyBytes,
    };
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(body));
  });
}

export interface FrontResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  trailers: Record<string, string | undefined>;
}

/** Plain HTTP request to a local server, with a fresh connection; resolves with the whole answer. */
export function fetchLocal(
  port: number,
  opts: { method?: string; path?: string; headers?: Record<string, string | string[]>; body?: string } = {},
): Promise<FrontResponse> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method: opts.method ?? 'GET',
        path: opts.path ?? '/',
        headers: opts.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            trailers: res.trailers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A free TCP port with nothing listening on it. */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function listenLocal(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: net.Server): Promise<void> {
  if ('closeAllConnections' in server) (server as http.Server).closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * `openssl s_server` as the upstream: unlike Node's TLS server (which completes the handshake and then
 * drops an unauthorised client without a word), OpenSSL refuses a bad client certificate with a real
 * TLS alert — as nginx, HAProxy, Envoy, Go and Java servers do.
 */
export async function startOpensslUpstream(opts: {
  server: Pick<Issued, 'certPem' | 'keyPem'>;
  clientCa: string;
  version: SecureVersion;
}): Promise<{ url: URL; close: () => void }> {
  const dir = mkdtempSync(join(tmpdir(), 'vaultgate-sserver-'));
  writeFileSync(join(dir, 'cert.pem'), opts.server.certPem);
  writeFileSync(join(dir, 'key.pem'), opts.server.keyPem);
  writeFileSync(join(dir, 'ca.pem'), opts.clientCa);
  const versionFlag = opts.version === 'TLSv1.3' ? '-tls1_3' : '-tls1_2';
  const args = ['s_server', '-accept', '127.0.0.1:0', '-cert', 'cert.pem', '-key', 'key.pem'];
  args.push('-CAfile', 'ca.pem', '-Verify', '3', '-verify_return_error', '-www', versionFlag);
  const child = spawn('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /ACCEPT 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`openssl s_server exited with ${code}`)));
  });
  return {
    url: new URL(`https://localhost:${port}`),
    close: () => {
      child.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
