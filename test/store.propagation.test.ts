/**
 * Changes crossing process boundaries: PostgreSQL instances telling each other about commits, and
 * SQLite keeping every acknowledged write through a kill -9.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../src/store/open.js';
import type { Store } from '../src/store/types.js';
import { createTestSchema, queryInSchema, type TestSchema } from './helpers/postgres.js';
import { vault } from './helpers/store-fixtures.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Resolves when the listener has been called `count` times; rejects after `ms`. */
function calls(register: (listener: () => void) => void, count = 1, ms = 1_000): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = 0;
    const timer = setTimeout(() => reject(new Error(`only ${seen} of ${count} calls within ${ms} ms`)), ms);
    register(() => {
      seen += 1;
      if (seen === count) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

describe('PostgreSQL instances sharing a schema', () => {
  let pg: TestSchema;
  let a: Store;
  let b: Store;

  beforeEach(async () => {
    pg = await createTestSchema();
    const open = (instanceId: string) =>
      openStore({ dataDir: '/nonexistent', databaseUrl: pg.url, schema: pg.schema, instanceId });
    // Opened together on an empty schema: the advisory lock must make one migrate and the other wait.
    [a, b] = await Promise.all([open('instance-a'), open('instance-b')]);
  });

  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
    await pg.drop();
  });

  it('tells the other instance about a commit within 1 s, and not the writer', async () => {
    let writerCalls = 0;
    b.onRemoteChange(() => (writerCalls += 1));
    const notified = calls((listener) => a.onRemoteChange(listener));
    await b.write((repo) => repo.insertVault(vault('v1')));
    await notified;
    expect(await a.read.getVault('v1')).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(writerCalls).toBe(0);
  });

  it('says nothing about a rolled-back transaction', async () => {
    let remoteCalls = 0;
    a.onRemoteChange(() => (remoteCalls += 1));
    await expect(b.write(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(remoteCalls).toBe(0);
  });

  it('serialises writes across instances', async () => {
    const increment = (store: Store) =>
      store.write(async (repo) => {
        const n = Number((await repo.getMeta('counter')) ?? '0');
        await new Promise((resolve) => setTimeout(resolve, 2));
        await repo.setMeta('counter', String(n + 1));
      });
    await Promise.all(Array.from({ length: 20 }, (_, i) => increment(i % 2 === 0 ? a : b)));
    expect(await a.read.getMeta('counter')).toBe('20');
  });

  it('reconnects a dropped LISTEN connection and then reports a change', async () => {
    const reconnected = calls((listener) => a.onRemoteChange(listener), 1, 5_000);
    const killed = await queryInSchema(
      pg.schema,
      'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1',
      ['vaultgate-listen:instance-a'],
    );
    expect(killed.rowCount).toBe(1);
    await reconnected;
    // And notifications flow again on the new connection.
    const notified = calls((listener) => a.onRemoteChange(listener));
    await b.write((repo) => repo.insertVault(vault('v2')));
    await notified;
  });

  it('notices a version change that came without a notification', async () => {
    const noticed = calls((listener) => a.onRemoteChange(listener), 1, 4_000);
    await queryInSchema(pg.schema, 'UPDATE config_version SET version = version + 1');
    await noticed;
  });
});

/**
 * A writer script for a plain `node` child that runs the real store code: the compiled dist/ the
 * suite's global setup builds (the store imports modules beside it, so a copy of src/store alone
 * would not load).
 */
async function buildStoreForChild(dir: string): Promise<void> {
  const open = pathToFileURL(path.join(ROOT, 'dist/src/store/open.js')).href;
  await writeFile(
    path.join(dir, 'writer.mjs'),
    `import { openStore } from '${open}';
const [dataDir, round] = process.argv.slice(2);
const store = await openStore({ dataDir });
for (let i = 0; ; i++) {
  const id = round + '-' + i;
  await store.write(async (repo) => {
    await repo.insertAuditEvent({ id, at: new Date().toISOString(), actor: 'child', action: 'test.write', vault_id: 'v', target_id: id });
    await repo.setMeta('last', id);
  });
  process.stdout.write('ack ' + id + '\\n');
}
`,
  );
}

describe('SQLite durability', () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'vg-durability-'));
    await buildStoreForChild(dir);
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps every acknowledged write when the process is killed with SIGKILL', async () => {
    const dataDir = path.join(dir, 'data');
    const acked: string[] = [];
    for (const [round, killAfter] of [
      ['r1', 40],
      ['r2', 150],
      ['r3', 7],
    ] as const) {
      const child = spawn(process.execPath, [path.join(dir, 'writer.mjs'), dataDir, round], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.on('exit', (_code, signal) => resolve(signal)),
      );
      let count = 0;
      for await (const line of createInterface({ input: child.stdout })) {
        acked.push(line.replace(/^ack /, ''));
        // Killed in the middle of the stream: the next transaction is most likely open right now.
        if (++count === killAfter) child.kill('SIGKILL');
      }
      expect(await exited, stderr).toBe('SIGKILL');
    }

    const store = await openStore({ dataDir });
    const stored = new Set((await store.read.listAuditEvents({ vault_id: 'v' })).map((e) => e.id));
    await store.close();
    const missing = acked.filter((id) => !stored.has(id));
    expect(missing).toEqual([]);
    expect(acked.length).toBeGreaterThanOrEqual(197);

    const raw = new Database(path.join(dataDir, 'vaultgate.db'), { readonly: true });
    try {
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(raw.pragma('foreign_key_check')).toEqual([]);
    } finally {
      raw.close();
    }
  });
});
