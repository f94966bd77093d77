import { createRequire } from 'node:module';
import type net from 'node:net';
import type { Client as UndiciClient } from 'undici';

/**
 * undici's Client class from its own module, not the package index: the index loads fetch,
 * WebSocket, caches and mocks as well, ~8 MB of every data-plane worker's memory for one class.
 * undici has no `exports` map, its version is pinned, and the index re-exports this very module.
 */
const Client = createRequire(import.meta.url)('undici/lib/dispatcher/client.js') as typeof UndiciClient;
type Client = UndiciClient;
import { connectUpstream, type ConnectSettings, type SessionSlot } from './connector.js';

export interface LaneOptions {
  /** Idle connections kept; past it, a connection coming back idle is closed. */
  maxIdle: number;
  /** An idle connection is closed after this long (undici also honours `Keep-Alive: timeout=`). */
  idleTimeoutMs: number;
  /** Asked before every new connection: an error (retired pool, unusable TLS context) refuses it. */
  refusal: () => Error | null;
}

/**
 * One undici Client, i.e. one upstream connection at a time, lent to one exchange at a time. A
 * Client per connection (rather than an undici Pool) lets the exchange know which socket carries its
 * request — whether it is reused (the retry rule and the classifier need that) and its TLS state —
 * and lets a deadline or a retirement destroy exactly that connection.
 */
export class LaneClient {
  readonly client: Client;
  /** The current (or last) connection's socket, from the moment it is opened. */
  socket: net.Socket | null = null;
  /** Requests written on `socket` so far. */
  served = 0;

  constructor(lane: Lane, origin: URL, idleTimeoutMs: number) {
    this.client = new Client(origin, {
      connect: (_opts, callback) =>
        lane.connect(this, (err, socket) =>
          err !== null ? callback(err, null) : callback(null, socket as net.Socket),
        ),
      pipelining: 1,
      keepAliveTimeout: idleTimeoutMs,
      keepAliveMaxTimeout: idleTimeoutMs,
      // forward() keeps its own deadlines (connect, headers, request body), as on the other path.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }
}

/**
 * The undici side of one upstream pool (pools.ts): the connections for requests without
 * `Expect` or a chunked body (forward.ts). Concurrency is bounded by the pool's FairGate, which
 * grants one slot per exchange, so a lane never holds more clients than the gate's capacity.
 */
export class Lane {
  private readonly idle: LaneClient[] = [];
  private readonly all = new Set<LaneClient>();
  private readonly slot: SessionSlot = { session: undefined };
  private retired = false;

  constructor(
    private readonly origin: URL,
    private readonly settings: ConnectSettings,
    private readonly options: LaneOptions,
  ) {}

  /** Clients lent out and not yet given back. */
  get busy(): number {
    return this.all.size - this.idle.length;
  }

  /** Whether some idle client still holds an open connection. */
  hasIdleConnections(): boolean {
    return this.idle.some((c) => c.socket !== null && !c.socket.destroyed);
  }

  /** The warmest idle client (LIFO lets the surplus idle out), or a new one. */
  acquire(): LaneClient {
    const reused = this.idle.pop();
    if (reused !== undefined) return reused;
    const created = new LaneClient(this, this.origin, this.options.idleTimeoutMs);
    this.all.add(created);
    return created;
  }

  /** Gives a client back after a clean exchange; its connection stays open for the next one. */
  release(client: LaneClient): void {
    if (!this.all.has(client)) return;
    if (this.retired || this.idle.length >= this.options.maxIdle) this.discard(client);
    else this.idle.push(client);
  }

  /** Closes a client and whatever connection it has or is opening (a failed or abandoned exchange). */
  discard(client: LaneClient, err?: Error): void {
    if (!this.all.delete(client)) return;
    const at = this.idle.indexOf(client);
    if (at >= 0) this.idle.splice(at, 1);
    client.socket?.destroy();
    // Requests still queued on it fail with `err` (a deadline), or undici's ClientDestroyedError.
    client.client.destroy(err ?? null).catch(() => undefined);
  }

  /**
   * The pool's certificate was deleted: idle connections close now, clients in use close when given
   * back, and no new connection is made (the refusal check, and this flag, see to it).
   */
  retire(): void {
    this.retired = true;
    for (const client of [...this.idle]) this.discard(client);
  }

  /** Shutdown: closes every connection, including those in use. */
  close(): void {
    this.retired = true;
    for (const client of [...this.all]) this.discard(client);
  }

  /** undici's `connect` for the lane's clients. */
  connect(lane: LaneClient, callback: (err: Error | null, socket: net.Socket | null) => void): void {
    const refused = this.options.refusal();
    if (refused !== null) {
      callback(refused, null);
      return;
    }
    connectUpstream(
      this.settings,
      this.slot,
      (socket) => {
        lane.socket = socket;
        lane.served = 0;
      },
      callback,
    );
  }
}
