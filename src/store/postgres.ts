/**
 * The shared backend: several vaultgate instances on one PostgreSQL database (or one schema of it).
 * Reads go through a pool; each write transaction holds its own client from BEGIN to COMMIT.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { bumpVersion, readVersion } from './db.js';
import { StoreOpenError, reasonOf } from './errors.js';
import { migrate } from './migrations.js';
import { Mutex } from './mutex.js';
import { ChangeFeed } from './pg-changes.js';
import { PgDb } from './pg-db.js';
import { describeConnectFailure, describeTarget, invalidUrlMessage } from './pg-errors.js';
import { SqlRepo } from './sql-repo.js';
import type { Repo, Store } from './types.js';

export interface PostgresStoreOptions {
  url: string;
  /** Keep every table in this schema (created if missing); search_path is set on every connection. */
  schema?: string | undefined;
  /** Tells this instance's notifications apart from the others'; random by default. */
  instanceId?: string | undefined;
  /** How often the version check runs, the fallback for lost notifications. */
  pollIntervalMs?: number | undefined;
}

const CONNECT_TIMEOUT_MS = 5_000;
// Lower case only, so the name means the same quoted or not; short enough that the notification
// channel built from it stays within PostgreSQL's 63-byte identifiers.
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,44}$/;

export async function openPostgresStore(options: PostgresStoreOptions): Promise<Store> {
  const { url, schema } = options;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new TypeError(`The schema name must match ${SCHEMA_NAME} (got ${JSON.stringify(schema)}).`);
  }
  const invalid = invalidUrlMessage(url);
  if (invalid !== undefined) throw new StoreOpenError(invalid);
  const instanceId = options.instanceId ?? randomUUID();
  const target = describeTarget(url);
  const config: pg.ClientConfig = {
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'vaultgate',
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  };
  const pool = new pg.Pool({ ...config, max: 10 });
  // An idle client losing its connection emits here; without a handler that would crash the process.
  // The next query on the pool reports the outage to whoever made it.
  pool.on('error', () => undefined);

  let initialVersion: number;
  try {
    await pool.query('SELECT 1');
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new StoreOpenError(describeConnectFailure(url, error), { cause: error });
  }
  try {
    await migrateWithLock(pool, schema);
    initialVersion = await readVersion(new PgDb(pool));
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new StoreOpenError(
      `Cannot prepare the PostgreSQL database in VAULTGATE_DATABASE_URL (${target}): ${reasonOf(error)}.`,
      {
        cause: error,
      },
    );
  }

  const mutex = new Mutex();
  const channel = schema === undefined ? 'vaultgate_changes' : `vaultgate_changes_${schema}`;
  const feed = new ChangeFeed({
    channel,
    instanceId,
    newClient: () => new pg.Client({ ...config, application_name: `vaultgate-listen:${instanceId}` }),
    readVersion: () => readVersion(new PgDb(pool)),
    initialVersion,
    isWriting: () => mutex.locked,
    pollIntervalMs: options.pollIntervalMs ?? 2_000,
  });
  try {
    await feed.start();
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new StoreOpenError(describeConnectFailure(url, error), { cause: error });
  }
  return new PostgresStore({ pool, mutex, feed, channel, instanceId });
}

/** Runs the migrations in one transaction, under an advisory lock so that instances starting together queue. */
async function migrateWithLock(pool: pg.Pool, schema: string | undefined): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`vaultgate:migrate:${schema ?? ''}`]);
    if (schema !== undefined) await client.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
    await migrate(new PgDb(client));
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => (broken = true));
    throw error;
  } finally {
    client.release(broken);
  }
}

interface Parts {
  pool: pg.Pool;
  mutex: Mutex;
  feed: ChangeFeed;
  channel: string;
  instanceId: string;
}

class PostgresStore implements Store {
  readonly backend = 'postgres';
  readonly read: Repo;
  readonly #parts: Parts;
  readonly #readDb: PgDb;
  #closed = false;

  constructor(parts: Parts) {
    this.#parts = parts;
    this.#readDb = new PgDb(parts.pool);
    this.read = new SqlRepo(this.#readDb, { writable: false });
  }

  write<T>(fn: (repo: Repo) => Promise<T>, options: { bookkeeping?: boolean } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('The store is closed.'));
    const { pool, mutex, feed, channel, instanceId } = this.#parts;
    return mutex.run(async () => {
      const client = await pool.connect();
      const db = new PgDb(client);
      let broken = false;
      try {
        await client.query('BEGIN');
        if (options.bookkeeping === true) {
          const result = await fn(new SqlRepo(db, { writable: true }));
          await client.query('COMMIT');
          return result;
        }
        await bumpVersion(db);
        const result = await fn(new SqlRepo(db, { writable: true }));
        const version = await readVersion(db);
        // Queued inside the transaction: PostgreSQL delivers it on COMMIT and drops it on ROLLBACK.
        await client.query('SELECT pg_notify($1, $2)', [channel, `${instanceId}:${version}`]);
        await client.query('COMMIT');
        feed.noteLocalVersion(version);
        return result;
      } catch (error) {
        // A client that cannot even roll back is in an unknown state; destroy it rather than reuse it.
        await client.query('ROLLBACK').catch(() => (broken = true));
        throw error;
      } finally {
        client.release(broken);
      }
    });
  }

  version(): Promise<number> {
    return readVersion(this.#readDb);
  }

  onRemoteChange(listener: () => void): void {
    this.#parts.feed.onChange(listener);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#parts.mutex.drain();
    await this.#parts.feed.close();
    await this.#parts.pool.end();
  }
}
