/**
 * "Is vaultgate running on this data?", asked by rotate-master-key before it changes anything. A
 * running instance holds the old key in memory and would go on sealing new values under it after the
 * rotation, so the command refuses rather than races it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';

/**
 * How long a just-stopped instance may take to let go: its process has exited, but PostgreSQL ends a
 * backend only once it reads the closed connection, and an operator runs `systemctl stop` and this
 * command back to back.
 */
const SETTLE_MS = 5_000;
const RETRY_MS = 100;

/**
 * SQLite: every vaultgate process (the control plane and each data-plane worker) keeps the database
 * open, and in WAL mode an open connection holds a shared lock on the file for its whole life; an
 * exclusive lock is granted only when no other process has it open. Returns a sentence when it is
 * in use.
 */
export async function sqliteInUse(file: string): Promise<string | undefined> {
  const deadline = Date.now() + SETTLE_MS;
  for (;;) {
    const conn = new Database(file, { fileMustExist: true, timeout: 0 });
    try {
      conn.pragma('locking_mode = EXCLUSIVE');
      conn.exec('BEGIN EXCLUSIVE');
      conn.exec('COMMIT');
      return undefined;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'SQLITE_BUSY') throw err;
    } finally {
      conn.close();
    }
    if (Date.now() >= deadline) {
      return `the database ${file} is in use by another process (a running vaultgate or its workers, or a backup); stop vaultgate and run this again`;
    }
    await sleep(RETRY_MS);
  }
}

/** The application_name prefix of a rotation's own change-feed connection (never "a running vaultgate"). */
export const ROTATION_INSTANCE_PREFIX = 'rotate-master-key-';

/**
 * PostgreSQL: the sessions vaultgate instances hold on this database. Each instance names its
 * connections `vaultgate` (queries) and `vaultgate-listen:<instance>` (change notifications); only
 * sessions of this database count, and a rotation's own (ROTATION_INSTANCE_PREFIX) never does.
 * `ownPoolOpen`: this process's store is open, so `vaultgate` sessions may be its own and only the
 * change-feed sessions, one per instance, tell. Every role may read the database and
 * application name of every session in pg_stat_activity (the address only of its own).
 */
export async function postgresInUse(
  url: string,
  options: { ownPoolOpen: boolean; settle: boolean },
): Promise<string | undefined> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: 5_000,
    application_name: 'vaultgate-rotate-master-key',
  });
  await client.connect();
  try {
    const deadline = Date.now() + (options.settle ? SETTLE_MS : 0);
    for (;;) {
      const { rows } = await client.query<{ application_name: string; client_addr: string | null }>(
        `SELECT application_name, client_addr::text AS client_addr FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()
           AND (application_name LIKE 'vaultgate-listen:%' OR (application_name = 'vaultgate' AND NOT $1::boolean))
           AND application_name NOT LIKE $2`,
        [options.ownPoolOpen, `vaultgate-listen:${ROTATION_INSTANCE_PREFIX}%`],
      );
      if (rows.length === 0) return undefined;
      if (Date.now() >= deadline) {
        const instances = rows.filter((r) => r.application_name.startsWith('vaultgate-listen:')).length;
        const from = [...new Set(rows.map((r) => r.client_addr ?? 'a local socket'))].join(', ');
        return `vaultgate is running on this database (${instances > 0 ? `${instances} instance${instances > 1 ? 's' : ''}` : `${rows.length} connection${rows.length > 1 ? 's' : ''}`}, from ${from}); stop every instance that uses it and run this again`;
      }
      await sleep(RETRY_MS);
    }
  } finally {
    await client.end();
  }
}
