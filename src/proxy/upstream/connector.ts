import net from 'node:net';
import tls from 'node:tls';
import { portLookup, refusedLiteral, type LookupFunction } from './blocked-ranges.js';
import { noteServerFlight, trackTlsState } from './tls-state.js';

/** Handshake counters shared by every pool of an UpstreamPools (its `stats()`). */
export interface HandshakeCounters {
  handshakes: number;
  resumedSessions: number;
}

/**
 * Watches a client TLS socket being set up, for both upstream clients (the https.Agent of pools.ts
 * and the undici lane of lane.ts): records the TLS state the failure classifier needs (tls-state.ts)
 * and counts handshakes. The socket must have been opened with `requestOCSP: true`: that makes
 * OpenSSL call back into Node at the end of the server's first flight, the one moment we can see
 * whether a CertificateRequest arrived. Stapled responses are not evaluated.
 */
export function watchHandshake(socket: tls.TLSSocket, counters: HandshakeCounters): void {
  const state = trackTlsState(socket);
  socket.once('OCSPResponse', () => noteServerFlight(socket, state));
  socket.once('secureConnect', () => {
    noteServerFlight(socket, state);
    state.secure = true;
    state.protocol = socket.getProtocol();
    counters.handshakes++;
    if (socket.isSessionReused()) counters.resumedSessions++;
  });
}

/** How one pool reaches its upstream; fixed for the pool's life. */
export interface ConnectSettings {
  host: string;
  port: number;
  /** Null for an http: origin. */
  tls: {
    secureContext: tls.SecureContext;
    /** SNI and the name the server certificate is checked against; '' sends no SNI. */
    servername: string;
    rejectUnauthorized: boolean;
  } | null;
  /** The blocking lookup (blocked-ranges.ts): own listeners, link-local, VAULTGATE_BLOCKED_UPSTREAMS. */
  lookup: LookupFunction | undefined;
  counters: HandshakeCounters;
}

/** The last TLS session of a pool, offered on its next connection (abbreviated handshake). */
export interface SessionSlot {
  session: Buffer | undefined;
}

/**
 * Opens one upstream connection and calls back once: with the socket when it is ready for HTTP
 * (connected, and for TLS handshaken and verified), or with the error as Node raised it, so the
 * classifier sees the same errors whichever client asked. `onSocket` learns the socket at once, before
 * the handshake, so a failure can be classified with its TLS state and a deadline can destroy it.
 */
export function connectUpstream(
  settings: ConnectSettings,
  slot: SessionSlot,
  onSocket: (socket: net.Socket) => void,
  callback: (err: Error | null, socket: net.Socket | null) => void,
): void {
  const blocked = refusedLiteral(settings.host, settings.port, settings.lookup);
  if (blocked !== null) {
    callback(blocked, null);
    return;
  }
  const narrowed = portLookup(settings.lookup, settings.port);
  const lookup = narrowed === undefined ? {} : { lookup: narrowed };
  let socket: net.Socket;
  if (settings.tls === null) {
    socket = net.connect({ host: settings.host, port: settings.port, ...lookup });
  } else {
    const t = settings.tls;
    const options: tls.ConnectionOptions & Pick<tls.TLSSocketOptions, 'requestOCSP'> = {
      host: settings.host,
      port: settings.port,
      secureContext: t.secureContext,
      ...(t.servername === '' ? {} : { servername: t.servername }),
      // DANGEROUS when false: any server — including an attacker on the path — is accepted as the
      // upstream. Only for test upstreams the user owns (SPEC §2 upstream_tls.verify).
      rejectUnauthorized: t.rejectUnauthorized,
      requestOCSP: true,
      ...(slot.session === undefined ? {} : { session: slot.session }),
      ...lookup,
    };
    const tlsSocket = tls.connect(options);
    watchHandshake(tlsSocket, settings.counters);
    tlsSocket.on('session', (session: Buffer) => (slot.session = session));
    socket = tlsSocket;
  }
  socket.setNoDelay(true);
  socket.setKeepAlive(true, 15_000);
  onSocket(socket);
  let called = false;
  const ready = (): void => {
    if (called) return;
    called = true;
    socket.removeListener('error', failed);
    callback(null, socket);
  };
  const failed = (err: Error): void => {
    if (called) return;
    called = true;
    // A session the server refuses to resume must not be offered again (as https.Agent does).
    slot.session = undefined;
    socket.destroy();
    callback(err, null);
  };
  socket.once(settings.tls === null ? 'connect' : 'secureConnect', ready);
  socket.once('error', failed);
  socket.once('close', () => failed(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })));
}
