/**
 * The query layer both backends implement, so that one Repo (sql-repo.ts) and one set of migrations
 * serve SQLite and PostgreSQL. SQL is written once with `?` placeholders and kept portable: TEXT ids,
 * ISO timestamps and JSON as TEXT, INTEGER numbers.
 */

export type SqlParam = string | number | null;

export interface RunResult {
  /** Rows inserted, updated or deleted by the statement. */
  changes: number;
}

export interface Db {
  all<T extends object>(sql: string, params?: readonly SqlParam[]): Promise<T[]>;
  get<T extends object>(sql: string, params?: readonly SqlParam[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlParam[]): Promise<RunResult>;
}

/** Raises the configuration version by one and returns the new value. Callers hold a write transaction. */
export async function bumpVersion(db: Db): Promise<number> {
  // The UPDATE also takes PostgreSQL's row lock on config_version, which serialises write
  // transactions across instances sharing one database.
  await db.run('UPDATE config_version SET version = version + 1 WHERE id = 1');
  return readVersion(db);
}

export async function readVersion(db: Db): Promise<number> {
  const row = await db.get<{ version: number | string }>('SELECT version FROM config_version WHERE id = 1');
  if (!row) throw new Error('The config_version row is missing; the database was not migrated.');
  return Number(row.version);
}
