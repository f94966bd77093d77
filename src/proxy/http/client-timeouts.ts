import type http from 'node:http';
import type https from 'node:https';

/**
 * Deadlines every listener puts on its clients, so that a slow or silent client cannot hold a socket
 * (Slowloris). Values in the spirit of HAProxy's `timeout http-request 10s` and nginx's
 * `client_header_timeout`: a real client sends its request head in one or two packets.
 */
export const CLIENT_TIMEOUTS = {
  /** From the connection (or the end of the previous response) to the end of the request head. */
  headersMs: 10_000,
  /** How often Node sweeps connections for the two deadlines above (its default, 30 s, is coarse). */
  checkIntervalMs: 1_000,
  /** From TCP accept to the end of the TLS handshake, on TLS listeners. */
  tlsHandshakeMs: 10_000,
} as const;

/** The server options for http.createServer / https.createServer. */
export function clientTimeoutOptions(requestTimeoutMs: number): http.ServerOptions & https.ServerOptions {
  return {
    headersTimeout: CLIENT_TIMEOUTS.headersMs,
    // 0 on the proxies: bodies stream for as long as they flow (a multi-gigabyte upload is fine);
    // idle sockets are still closed by the keep-alive timeout and slow heads by headersTimeout.
    requestTimeout: requestTimeoutMs,
    connectionsCheckingInterval: CLIENT_TIMEOUTS.checkIntervalMs,
    handshakeTimeout: CLIENT_TIMEOUTS.tlsHandshakeMs,
  };
}

/**
 * For an http.Server that never listens and only gets sockets through `emit('connection')` (the
 * CONNECT tunnels' inner server): Node starts the sweep that enforces headersTimeout and
 * requestTimeout when a server starts listening, so without this a client could open a tunnel and
 * then send nothing, or one byte a minute, and hold the socket forever.
 */
export function enforceTimeoutsWithoutListening(server: http.Server): void {
  server.emit('listening');
}
