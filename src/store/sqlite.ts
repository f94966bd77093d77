/**
 * The embedded backend: one SQLite file, a write connection and a separate read-only connection.
 *
 * better-sqlite3 is synchronous while Repo is async, so a write transaction spans several turns of
 * the event loop. We therefore BEGIN IMMEDIATE / COMMIT / ROLLBACK by hand and let a mutex admit one
 * transaction at a time. Reads use their own connection: with WAL they see the last committed state
 * and never the half-done work of an open write transaction.
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { bumpVersion, readVersion, type Db, type RunResult, type SqlParam } from './db.js';
import { StoreOpenError, UniqueViolationError, reasonOf } from './errors.js';
import { migrate } from './migrations.js';
import { Mutex } from './mutex.js';
import { SqlRepo } from './sql-repo.js';
import type { Repo, Store } from './types.js';

type Connection = Database.Database;
type Statement = Database.Statement<SqlParam[]>;

const BUSY_TIMEOUT_MS = 5_000;

/** Adapts a connection to the async query layer, caching prepared statements. */
class SqliteDb implements Db {
  readonly #conn: Connection;
  readonly #statements = new Map<string, Statement>();

  constructor(conn: Connection) {
    this.#conn = conn;
  }

  async all<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return this.#call(() => this.#prepare(sql).all(...params) as T[]);
  }

  async get<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return this.#call(() => this.#prepare(sql).get(...params) as T | undefined);
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    return this.#call(() => ({ changes: this.#prepare(sql).run(...params).changes }));
  }

  #prepare(sql: string): Statement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#conn.prepare<SqlParam[]>(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #call<T>(fn: () => T): T {
    try {
      return fn();
    } catch (error) {
      if (isUniqueViolation(error)) {
        // The message reads `UNIQUE constraint failed: credentials.username`.
        const target = /constraint failed: (.+)$/.exec(reasonOf(error))?.[1];
        throw new UniqueViolationError(reasonOf(error), target, { cause: error });
      }
      throw error;
    }
  }
}

function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

function openWriter(file: string): Connection {
  const conn = new Database(file, { timeout: BUSY_TIMEOUT_MS });
  conn.pragma('journal_mode = WAL');
  // FULL syncs the WAL on every commit: an acknowledged write survives a crash or power loss,
  // where WAL's usual NORMAL may lose the last transactions.
  conn.pragma('synchronous = FULL');
  conn.pragma('foreign_keys = ON');
  conn.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return conn;
}

function openReader(file: string): Connection {
  const conn = new Database(file, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
  conn.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
  return conn;
}

export async function openSqliteStore(file: string): Promise<Store> {
  let writer: Connection | undefined;
  try {
    // Created owner-only: it holds sealed keys and credential hashes. SQLite gives the -wal and -shm
    // files it creates next to it the same permissions.
    closeSync(openSync(file, 'a', 0o600));
    writer = openWriter(file);
    const writeDb = new SqliteDb(writer);
    await transaction(writer, () => migrate(writeDb));
    return new SqliteStore(writer, writeDb, openReader(file));
  } catch (error) {
    writer?.close();
    throw new StoreOpenError(`Cannot open the SQLite database ${file}: ${reasonOf(error)}.`, {
      cause: error,
    });
  }
}

/** Runs fn between BEGIN IMMEDIATE and COMMIT; rolls back if it throws. */
async function transaction<T>(conn: Connection, fn: () => Promise<T>): Promise<T> {
  // IMMEDIATE takes the write lock up front, so a transaction never fails half-way with SQLITE_BUSY
  // when upgrading from a read lock.
  conn.exec('BEGIN IMMEDIATE');
  try {
    const result = await fn();
    conn.exec('COMMIT');
    return result;
  } catch (error) {
    // Some errors (SQLITE_FULL, SQLITE_IOERR…) already rolled the transaction back.
    if (conn.inTransaction) conn.exec('ROLLBACK');
    throw error;
  }
}

class SqliteStore implements Store {
  readonly backend = 'sqlite';
  readonly read: Repo;
  readonly #writer: Connection;
  readonly #writeDb: SqliteDb;
  readonly #reader: Connection;
  readonly #readDb: SqliteDb;
  readonly #mutex = new Mutex();
  #closed = false;

  constructor(writer: Connection, writeDb: SqliteDb, reader: Connection) {
    this.#writer = writer;
    this.#writeDb = writeDb;
    this.#reader = reader;
    this.#readDb = new SqliteDb(reader);
    this.read = new SqlRepo(this.#readDb, { writable: false });
  }

  write<T>(fn: (repo: Repo) => Promise<T>, options: { bookkeeping?: boolean } = {}): Promise<T> {
    if (this.#closed) return Promise.reject(new Error('The store is closed.'));
    return this.#mutex.run(() =>
      transaction(this.#writer, async () => {
        if (options.bookkeeping !== true) await bumpVersion(this.#writeDb);
        return fn(new SqlRepo(this.#writeDb, { writable: true }));
      }),
    );
  }

  version(): Promise<number> {
    return readVersion(this.#readDb);
  }

  /**
   * One SQLite file serves one vaultgate instance: its control plane writes, and its data-plane
   * workers only read and are told of each change by the control plane (src/dataplane/). No other
   * instance can change it, so there is nothing to listen to.
   */
  onRemoteChange(_listener: () => void): void {}

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#mutex.drain();
    this.#reader.close();
    this.#writer.close();
  }
}
