/** The query layer over node-postgres: `?` placeholders become `$n`, driver errors become store errors. */
import type { ClientBase, Pool } from 'pg';
import type { Db, RunResult, SqlParam } from './db.js';
import { UniqueViolationError } from './errors.js';

const converted = new Map<string, string>();

/** Rewrites `?` placeholders to `$1, $2, …`, leaving quoted literals and identifiers alone. */
export function toPgPlaceholders(sql: string): string {
  const cached = converted.get(sql);
  if (cached !== undefined) return cached;
  let out = '';
  let n = 0;
  let quote: string | null = null;
  for (const ch of sql) {
    if (quote !== null) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
    } else if (ch === '?') {
      n += 1;
      out += `$${n}`;
      continue;
    }
    out += ch;
  }
  converted.set(sql, out);
  return out;
}

export class PgDb implements Db {
  readonly #client: Pool | ClientBase;

  constructor(client: Pool | ClientBase) {
    this.#client = client;
  }

  async all<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const result = await this.#query<T>(sql, params);
    return result.rows;
  }

  async get<T extends object>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    const result = await this.#query<T>(sql, params);
    return result.rows[0];
  }

  async run(sql: string, params: readonly SqlParam[] = []): Promise<RunResult> {
    const result = await this.#query(sql, params);
    return { changes: result.rowCount ?? 0 };
  }

  async #query<T extends object>(sql: string, params: readonly SqlParam[]) {
    try {
      return await this.#client.query<T & Record<string, unknown>>(toPgPlaceholders(sql), [...params]);
    } catch (error) {
      // 23505 is unique_violation (PostgreSQL appendix A).
      const { code, table, detail } = (error ?? {}) as { code?: unknown; table?: unknown; detail?: unknown };
      if (code === '23505') {
        // detail reads `Key (username)=(alice) already exists.`
        const column = typeof detail === 'string' ? /^Key \((.+?)\)=/.exec(detail)?.[1] : undefined;
        const target = typeof table === 'string' && column !== undefined ? `${table}.${column}` : undefined;
        throw new UniqueViolationError((error as Error).message, target, { cause: error });
      }
      throw error;
    }
  }
}
