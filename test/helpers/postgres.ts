/**
 * A throwaway PostgreSQL schema per test file, so suites can run side by side on one server.
 * The server defaults to the local trust-auth test database; VAULTGATE_TEST_DATABASE_URL overrides it.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const TEST_DATABASE_URL =
  process.env['VAULTGATE_TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestSchema {
  url: string;
  schema: string;
  /** Drops the schema and everything in it. */
  drop(): Promise<void>;
}

async function withClient<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function createTestSchema(prefix = 'vg_test'): Promise<TestSchema> {
  const schema = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient((client) => client.query(`CREATE SCHEMA ${schema}`));
  return {
    url: TEST_DATABASE_URL,
    schema,
    drop: async () => {
      await withClient((client) => client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));
    },
  };
}

/** Runs one statement with search_path set to the schema, for tests that reach around the store. */
export async function queryInSchema(
  schema: string,
  sql: string,
  params: unknown[] = [],
): Promise<pg.QueryResult> {
  return withClient(async (client) => {
    await client.query(`SET search_path = ${schema}`);
    return client.query(sql, params);
  });
}

export interface TestDatabase {
  /** A postgres:// URL for VAULTGATE_DATABASE_URL. */
  url: string;
  drop(): Promise<void>;
}

/** A whole throwaway database, for tests that start vaultgate itself with VAULTGATE_DATABASE_URL. */
export async function createTestDatabase(prefix = 'vg_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  await withClient((client) => client.query(`CREATE DATABASE ${name}`));
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      await withClient((client) => client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
    },
  };
}
