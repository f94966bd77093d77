/** The store's front door: SQLite in the data dir by default, PostgreSQL when a URL is given. */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { StoreOpenError, reasonOf } from './errors.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  /** Where the SQLite file `vaultgate.db` lives (ignored with PostgreSQL). */
  dataDir: string;
  /** `postgres://…` (VAULTGATE_DATABASE_URL); unset means SQLite. */
  databaseUrl?: string | undefined;
  /** PostgreSQL only: keep the tables in this schema. */
  schema?: string | undefined;
  /** PostgreSQL only: this instance's id in change notifications. */
  instanceId?: string | undefined;
}

export const SQLITE_FILE_NAME = 'vaultgate.db';

/**
 * Opens and migrates the store. Rejects with a StoreOpenError, whose message is one sentence fit for
 * the terminal, when the database cannot be opened or reached.
 */
export async function openStore(options: OpenStoreOptions): Promise<Store> {
  if (options.databaseUrl !== undefined && options.databaseUrl !== '') {
    // Loaded only when used: the pg driver is ~15 MB of every process's memory (each data-plane
    // worker opens the store too), which a SQLite deployment has no use for.
    const { openPostgresStore } = await import('./postgres.js');
    return openPostgresStore({
      url: options.databaseUrl,
      schema: options.schema,
      instanceId: options.instanceId,
    });
  }
  try {
    await mkdir(options.dataDir, { recursive: true });
  } catch (error) {
    throw new StoreOpenError(`Cannot create the data directory ${options.dataDir}: ${reasonOf(error)}.`, {
      cause: error,
    });
  }
  return openSqliteStore(path.join(options.dataDir, SQLITE_FILE_NAME));
}

export { StoreOpenError, UniqueViolationError, ReadOnlyRepoError } from './errors.js';
export type { Store, Repo } from './types.js';
