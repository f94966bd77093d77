import type http from 'node:http';
import type https from 'node:https';
import type net from 'node:net';
import type { Logger } from '../observability/logger.js';
import { spareFlushingResponses } from '../proxy/http/idle-sweep.js';

/**
 * The life of every vaultgate listener, in one place: how many connections it takes (in total and
 * per client address), which responses are in flight, and how it drains at shutdown. The admin
 * listener (control plane) and the proxy listeners (each data-plane worker) all go through
 * manageListener(), so a shutdown fix lands everywhere at once.
 */

/** How often a refused-connection warning may repeat per listener or per limiter. */
const WARN_EVERY_MS = 10_000;

/** A warning that says how many events it stands for, at most once every WARN_EVERY_MS. */
function rateLimitedWarning(warn: (count: number) => void): () => void {
  let last = 0;
  let count = 0;
  return () => {
    count++;
    const now = Date.now();
    if (now - last < WARN_EVERY_MS) return;
    last = now;
    warn(count);
  };
}

/**
 * Open connections per client address, shared by all the listeners of one process: a client that
 * opens thousands of idle connections cannot take every file descriptor from the others. The cap is
 * per process (each worker counts its own), like Node's maxConnections; the default is far above what
 * one load balancer or a benchmark with 64 connections opens.
 */
export class ClientConnections {
  readonly #open = new Map<string, number>();
  readonly #warn: () => void;
  #lastRefused = '';

  constructor(
    readonly max: number,
    logger: Logger,
  ) {
    this.#warn = rateLimitedWarning((refused) =>
      logger.warn(
        `a client address is at its limit of ${max} open connections; refusing new ones from it (raise VAULTGATE_MAX_CONNECTIONS_PER_CLIENT)`,
        { client_address: this.#lastRefused, refused },
      ),
    );
  }

  /** Counts the socket against its address until it closes; false (and nothing counted) over the cap. */
  admit(socket: net.Socket): boolean {
    const address = socket.remoteAddress;
    if (address === undefined) return true; // already gone: nothing to hold
    const open = this.#open.get(address) ?? 0;
    if (open >= this.max) {
      this.#lastRefused = address;
      this.#warn();
      return false;
    }
    this.#open.set(address, open + 1);
    socket.once('close', () => {
      const left = (this.#open.get(address) ?? 1) - 1;
      if (left === 0) this.#open.delete(address);
      else this.#open.set(address, left);
    });
    return true;
  }
}

export interface ListenerOptions {
  /** Used in log lines: admin, inbound, outbound, outbound_tls. */
  name: string;
  /** Open connections on this listener before Node refuses new ones (VAULTGATE_MAX_CONNECTIONS). */
  maxConnections: number;
  /** The process-wide per-address cap. */
  perClient: ClientConnections;
  logger: Logger;
  /**
   * Runs when draining starts, before the server stops accepting: for connections Node's server no
   * longer tracks (the outbound proxy's CONNECT tunnels), which net.Server's close() still waits for.
   */
  onDrain?: () => void;
}

export interface ManagedListener {
  readonly name: string;
  readonly server: http.Server | https.Server;
  /** Stops accepting, ends keep-alive connections after their current response, waits up to graceMs. */
  drain(graceMs: number): Promise<void>;
}

export function manageListener(
  server: http.Server | https.Server,
  options: ListenerOptions,
): ManagedListener {
  limitConnections(server, options);
  const inFlight = trackResponses(server);
  let draining: Promise<void> | undefined;
  return {
    name: options.name,
    server,
    drain(graceMs) {
      draining ??= drain(server, inFlight, graceMs, options.onDrain);
      return draining;
    },
  };
}

/**
 * Node refuses connections over maxConnections itself; the per-address cap runs before any other
 * 'connection' listener (the HTTP parser, the TLS handshake), so a refused socket costs nothing more.
 */
function limitConnections(server: net.Server, options: ListenerOptions): void {
  const { name, maxConnections: max, logger, perClient } = options;
  server.maxConnections = max;
  const warn = rateLimitedWarning((dropped) =>
    logger.warn(
      `the ${name} listener is at its limit of ${max} open connections; refusing new ones (raise VAULTGATE_MAX_CONNECTIONS)`,
      { listener: name, dropped },
    ),
  );
  server.on('drop', warn);

  const handlers = server.listeners('connection') as ((socket: net.Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: net.Socket) => {
    if (!perClient.admit(socket)) {
      socket.destroy();
      return;
    }
    for (const handler of handlers) handler.call(server, socket);
  });
}

interface InFlight {
  open: Set<http.ServerResponse>;
  draining: boolean;
}

/**
 * Lets drain() reach the responses in flight. Node's close() closes only the keep-alive connections
 * idle at that instant: a client whose request was in flight then sends its next one on the same
 * connection, and so on, until the grace runs out and closeAllConnections() cuts requests that had
 * been accepted (found by the reliability suite: `npm run test:reliability -- --only=shutdown`).
 */
function trackResponses(server: http.Server | https.Server): InFlight {
  const state: InFlight = { open: new Set<http.ServerResponse>(), draining: false };
  const perSocket = new WeakMap<object, number>();
  const track = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Answered with `Connection: close` once draining: the client will not reuse the connection.
    if (state.draining) res.shouldKeepAlive = false;
    const socket = req.socket;
    state.open.add(res);
    perSocket.set(socket, (perSocket.get(socket) ?? 0) + 1);
    res.once('close', () => {
      state.open.delete(res);
      const left = (perSocket.get(socket) ?? 1) - 1;
      perSocket.set(socket, left);
      // A response already under way kept its connection alive. A client may reuse it at once (its
      // next request will be told Connection: close); if none comes, end it gracefully, after what is
      // still buffered (closeIdleConnections() would destroy a socket whose last bytes are unsent).
      if (state.draining && left === 0)
        setTimeout(() => {
          if (perSocket.get(socket) === 0) socket.end();
        }, 500).unref();
    });
  };
  server.prependListener('request', track);
  // Only where a handler exists: a checkContinue listener stops Node from answering 100 Continue itself.
  if (server.listenerCount('checkContinue') > 0) server.prependListener('checkContinue', track);
  // drain()'s close() and closeIdleConnections() would otherwise destroy a connection whose response
  // has been end()ed but not yet flushed (idle-sweep.ts): the requests SIGTERM lost (issue 11).
  spareFlushingResponses(server);
  return state;
}

async function drain(
  server: http.Server | https.Server,
  inFlight: InFlight,
  graceMs: number,
  onDrain: (() => void) | undefined,
): Promise<void> {
  inFlight.draining = true;
  for (const res of inFlight.open) if (!res.headersSent) res.shouldKeepAlive = false;
  onDrain?.();
  // A server that never listened (a test seam, a worker stopped before its handles came) has nothing
  // to wait for; close() would report ERR_SERVER_NOT_RUNNING.
  const closed = server.listening
    ? new Promise<void>((resolve) => server.close(() => resolve()))
    : Promise.resolve();
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}
