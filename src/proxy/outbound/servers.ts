import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { ERROR_STATUS, type ErrorCode } from '../../errors.js';
import type { DataPlaneDeps } from '../deps.js';
import { clientTimeoutOptions, enforceTimeoutsWithoutListening } from '../http/client-timeouts.js';
import { guardRequests, guardSocketListener } from '../http/errors.js';
import { spareFlushingResponses } from '../http/idle-sweep.js';
import type { UpstreamPools } from '../upstream/pools.js';
import { ProxyAuthenticator } from './auth.js';
import { connectHandler } from './connect.js';
import type { OutboundContext } from './context.js';
import { VaultMinters } from './minters.js';
import { absoluteRequestHandler, tunnelRequestHandler } from './requests.js';

export interface OutboundServers {
  /** The plain HTTP proxy port (SPEC §1 VAULTGATE_OUTBOUND_PORT). */
  readonly plain: http.Server;
  /** The same proxy protocol spoken over TLS (VAULTGATE_OUTBOUND_TLS_PORT), local-CA certificate. */
  readonly tls: https.Server;
  /**
   * Stops taking new tunnels and requests: idle tunnels close now, busy ones after their current
   * response (which carries `Connection: close`), the rest after 10 s. Call it when shutdown starts,
   * before or together with closing `plain` and `tls`: their close() waits for tunnels too (the
   * listener lifecycle, src/listeners/lifecycle.ts, calls it as its onDrain hook).
   */
  close(): void;
}

/**
 * Idle time before a keep-alive connection (to the proxy, or inside a tunnel) is closed. SDKs keep
 * pooled connections for 4-60 s; outliving the shortest common ones avoids a fresh CONNECT and leaf
 * handshake for every burst of calls.
 */
const KEEP_ALIVE_MS = 65_000;
/** Parser errors that are not a plain 400 (the statuses Node's own clientError handler sends). */
const CLIENT_ERROR_STATUS: Readonly<Record<string, string>> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  HPE_CHUNK_EXTENSIONS_OVERFLOW: '413 Payload Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};
/** SPEC §1: in-flight requests get up to 10 s at shutdown. */
const CLOSE_GRACE_MS = 10_000;

/**
 * The outbound forward proxy (SPEC §4): the plain and TLS listeners share every handler, and tunnels
 * from both are served by one internal HTTP server. The caller listens on the ports.
 */
export function createOutboundServers(deps: DataPlaneDeps, pools: UpstreamPools): OutboundServers {
  const minters = new VaultMinters();
  const ctx: OutboundContext = {
    pools,
    auth: new ProxyAuthenticator(deps.hasher, deps.snapshot, deps.authThrottle),
    minters,
    logger: deps.logger,
    forwardOptions: {
      connectTimeoutMs: deps.settings.upstreamConnectTimeoutMs,
      headersTimeoutMs: deps.settings.upstreamResponseTimeoutMs,
      bodyTimeoutMs: deps.settings.requestBodyTimeoutMs,
    },
    tunnels: new WeakMap(),
    openTunnels: new Set(),
    metrics: deps.metrics.proxy,
    closing: false,
  };
  deps.snapshot.onSwap((next) => minters.retain(next));
  deps.metrics.total(
    'counter',
    'vaultgate_outbound_leaf_certificates_minted_total',
    "Interception certificates signed by the vaults' outbound CAs (cache misses).",
    () => minters.mints(),
  );
  deps.metrics.total(
    'gauge',
    'vaultgate_outbound_open_tunnels',
    'CONNECT tunnels currently open.',
    () => ctx.openTunnels.size,
  );

  // Never listens: it only reads the decrypted sockets that intercept() hands it.
  const tunnelServer = http.createServer({ keepAliveTimeout: KEEP_ALIVE_MS, ...clientTimeoutOptions(0) });
  enforceTimeoutsWithoutListening(tunnelServer);
  // The last-resort guards: whatever one request (or one CONNECT, one handshake) throws ends that
  // request or connection with a SPEC §5 answer where one can still be sent, never the process.
  const log = deps.logger.child({ component: 'outbound' });
  const failed = (kind: 'tunnel' | 'absolute') => (code: ErrorCode) => {
    ctx.metrics.request('outbound', '', ERROR_STATUS[code], code, undefined);
    ctx.metrics.outbound(kind, ERROR_STATUS[code]);
  };
  const inTunnel = guardRequests(log, tunnelRequestHandler(ctx), failed('tunnel'));
  tunnelServer.on('request', inTunnel);
  // forward() relays Expect: 100-continue only when it handles checkContinue itself (see forward.ts).
  tunnelServer.on('checkContinue', inTunnel);
  const clientError = guardSocketListener(
    log,
    'answering a malformed request',
    (_err: NodeJS.ErrnoException, socket: Duplex) => socket,
    onClientError,
  );
  tunnelServer.on('clientError', clientError);
  // Shutdown's idle sweep must not cut a tunnel whose last answer is still being written (idle-sweep.ts).
  spareFlushingResponses(tunnelServer);

  const absolute = guardRequests(log, absoluteRequestHandler(ctx), failed('absolute'));
  const connect = connectHandler(ctx, tunnelServer); // guarded inside

  // Bodies of absolute-form requests stream as long as they flow (requestTimeout 0), like the inbound's.
  const plain = http.createServer({ keepAliveTimeout: KEEP_ALIVE_MS, ...clientTimeoutOptions(0) });
  const overTls = https.createServer({
    keepAliveTimeout: KEEP_ALIVE_MS,
    ...clientTimeoutOptions(0),
    cert: deps.listenerTls.certPem,
    key: deps.listenerTls.keyPem,
    // The proxy protocol itself is HTTP/1.1 (CONNECT is not tunnelled over h2 here).
    ALPNProtocols: ['http/1.1'],
  });
  for (const server of [plain, overTls]) {
    server.on('request', absolute);
    server.on('checkContinue', absolute);
    server.on('connect', connect);
  }
  overTls.on(
    'tlsClientError',
    guardSocketListener(
      log,
      'handling a failed TLS handshake',
      (_err: NodeJS.ErrnoException, socket: Duplex) => socket,
      (err: NodeJS.ErrnoException) => {
        deps.logger.info('TLS handshake with a client of the outbound TLS proxy port failed', { err });
      },
    ),
  );

  const shutdown = (): void => {
    if (ctx.closing) return;
    ctx.closing = true;
    for (const server of [plain, overTls]) server.closeIdleConnections();
    // Tunnels are sockets Node's servers no longer track (CONNECT detaches them), yet net.Server's
    // close() waits for them: idle or still handshaking ones go now, busy ones after their current
    // answer (which says Connection: close), and any left after the SPEC §1 grace are cut.
    for (const socket of ctx.openTunnels) {
      const tunnel = ctx.tunnels.get(socket);
      if (tunnel === undefined || tunnel.active === 0) socket.destroy();
      else if (tunnel.response !== null && !tunnel.response.headersSent)
        tunnel.response.shouldKeepAlive = false;
    }
    setTimeout(() => {
      for (const socket of ctx.openTunnels) socket.destroy();
    }, CLOSE_GRACE_MS).unref();
    tunnelServer.close(); // stops its timeout sweep (enforceTimeoutsWithoutListening)
  };
  return { plain, tls: overTls, close: shutdown };

  function onClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    // A malformed request inside a tunnel: answer as Node's default handler would, when the socket can
    // still take it — 431 for an oversized head, 408 for a head too slow, 400 for anything else.
    if (err.code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const status = CLIENT_ERROR_STATUS[err.code ?? ''] ?? '400 Bad Request';
    socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  }
}
