/**
 * A caller of the inbound listener under a custom hostname: a fresh TLS connection by IP address
 * with the SNI and Host of the caller's choice (as a client resolving `callbacks.acme.example` to
 * the listener would), optionally presenting a client certificate or resuming a TLS session.
 */
import https from 'node:https';
import type { PeerCertificate, SecureVersion, TLSSocket } from 'node:tls';

export interface HostnameCall {
  port: number;
  /** SNI; null sends none. */
  sni: string | null;
  /** Host header; defaults to the SNI. */
  host?: string;
  /** CA(s) to verify the server certificate against; the call fails if it does not verify. */
  ca: string | string[];
  cert?: string;
  key?: string;
  session?: Buffer;
  minVersion?: SecureVersion;
  maxVersion?: SecureVersion;
  path?: string;
  headers?: Record<string, string>;
  /** Reuse this keep-alive agent instead of a fresh connection. */
  agent?: https.Agent;
}

export interface HostnameAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers
  json: any;
  /** The server certificate the listener presented. */
  peer: PeerCertificate;
  /** A session to resume with (TLS 1.3 sends it after the handshake, so it is read at the end). */
  session: Buffer | undefined;
  reused: boolean;
  protocol: string | null;
}

export function callHostname(call: HostnameCall): Promise<HostnameAnswer> {
  return new Promise((resolve, reject) => {
    let session: Buffer | undefined;
    const host = call.host ?? call.sni ?? '127.0.0.1';
    const req = https.request(
      {
        host: '127.0.0.1',
        port: call.port,
        // Node sends no SNI for an IP-address servername.
        servername: call.sni ?? '127.0.0.1',
        ca: call.ca,
        // The hostname is checked against the certificate explicitly below: the connection goes to
        // 127.0.0.1 but the name verified must be the SNI, as for a client that resolved the name.
        checkServerIdentity: () => undefined,
        ...(call.cert === undefined ? {} : { cert: call.cert, key: call.key }),
        ...(call.session === undefined ? {} : { session: call.session }),
        ...(call.minVersion === undefined ? {} : { minVersion: call.minVersion }),
        ...(call.maxVersion === undefined ? {} : { maxVersion: call.maxVersion }),
        agent: call.agent ?? false,
        path: call.path ?? '/',
        headers: { host: `${host}:${call.port}`, ...call.headers },
      },
      (res) => {
        const socket = res.socket as TLSSocket;
        const peer = socket.getPeerCertificate();
        const reused = socket.isSessionReused();
        const protocol = socket.getProtocol();
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          session ??= socket.getSession();
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            json,
            peer,
            session,
            reused,
            protocol,
          });
        });
      },
    );
    req.on('socket', (socket) => socket.on('session', (s: Buffer) => (session = s)));
    req.on('error', reject);
    req.end();
  });
}
