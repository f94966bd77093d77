/**
 * How one PostgreSQL instance learns that another changed the configuration.
 *
 * Every write transaction sends `pg_notify(channel, '<instance id>:<version>')`, which PostgreSQL
 * delivers only on commit. A dedicated connection LISTENs; notifications from other instances fire
 * the listeners. Notifications are not queued for a connection that is down, so after a reconnect we
 * fire unconditionally, and a periodic version check covers anything else that slipped through.
 */
import pg from 'pg';

export interface ChangeFeedOptions {
  channel: string;
  instanceId: string;
  /** A new, unconnected client for the LISTEN connection. */
  newClient: () => pg.Client;
  readVersion: () => Promise<number>;
  initialVersion: number;
  /** While true, the version check skips a tick: our own commit is about to be noted. */
  isWriting: () => boolean;
  pollIntervalMs: number;
}

const MAX_BACKOFF_MS = 5_000;

export class ChangeFeed {
  readonly #options: ChangeFeedOptions;
  readonly #listeners = new Set<() => void>();
  #lastKnown: number;
  #client: pg.Client | undefined;
  #reconnectTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;
  #attempt = 0;
  #polling = false;
  #closed = false;

  constructor(options: ChangeFeedOptions) {
    this.#options = options;
    this.#lastKnown = options.initialVersion;
  }

  async start(): Promise<void> {
    try {
      await this.#listen();
    } catch (error) {
      await this.close();
      throw error;
    }
    this.#pollTimer = setInterval(() => void this.#poll(), this.#options.pollIntervalMs);
    // The check must never be what keeps the process alive.
    this.#pollTimer.unref();
  }

  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /** Records a version this instance committed, so neither the check nor our own NOTIFY fires for it. */
  noteLocalVersion(version: number): void {
    this.#lastKnown = Math.max(this.#lastKnown, version);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#pollTimer);
    clearTimeout(this.#reconnectTimer);
    const client = this.#client;
    this.#client = undefined;
    if (client) await client.end().catch(() => undefined);
  }

  async #listen(): Promise<void> {
    const client = this.#options.newClient();
    client.on('notification', (message) => this.#onNotification(message.channel, message.payload));
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    this.#client = client;
    try {
      await client.connect();
      // The channel is an identifier: quoted, so it is matched exactly as pg_notify spells it.
      await client.query(`LISTEN "${this.#options.channel}"`);
    } catch (error) {
      this.#lost(client);
      throw error;
    }
  }

  #lost(client: pg.Client): void {
    if (this.#client !== client) return;
    this.#client = undefined;
    client.removeAllListeners('notification');
    // A late 'error' from the dead client must not become an uncaught exception.
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    if (!this.#closed) this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const delay = Math.min(MAX_BACKOFF_MS, 100 * 2 ** this.#attempt);
    this.#attempt += 1;
    this.#reconnectTimer = setTimeout(() => void this.#reconnect(), delay);
    this.#reconnectTimer.unref();
  }

  async #reconnect(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.#listen();
    } catch {
      return; // #lost has scheduled the next attempt.
    }
    if (this.#closed) return;
    this.#attempt = 0;
    // Whatever was committed while we were away was announced to nobody.
    this.#emit();
  }

  #onNotification(channel: string, payload: string | undefined): void {
    if (channel !== this.#options.channel || payload === undefined) return;
    const separator = payload.lastIndexOf(':');
    const instanceId = payload.slice(0, separator);
    const version = Number(payload.slice(separator + 1));
    if (instanceId === this.#options.instanceId) return;
    if (Number.isFinite(version)) this.#lastKnown = Math.max(this.#lastKnown, version);
    this.#emit();
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#closed || this.#options.isWriting()) return;
    this.#polling = true;
    try {
      const version = await this.#options.readVersion();
      // Only forward: a check that raced our own commit may read a version we already noted.
      if (!this.#closed && version > this.#lastKnown) {
        this.#lastKnown = version;
        this.#emit();
      }
    } catch {
      // The database is unreachable; the next tick tries again and reads report the outage.
    } finally {
      this.#polling = false;
    }
  }

  #emit(): void {
    for (const listener of this.#listeners) {
      try {
        listener();
      } catch (error) {
        // One failing listener must not starve the others of the news.
        process.emitWarning(`An onRemoteChange listener threw: ${String(error)}`);
      }
    }
  }
}
