/**
 * `vaultgate rotate-master-key` (SPEC §2, docs/operations.md "Rotating the master key"), run as the
 * real command against data a real vaultgate wrote, on SQLite and PostgreSQL. A rotation counts only
 * when every sealed value in the database — found by scanning every table, not from a list the code
 * also uses — opens under the new key and none under the old one, and a restarted vaultgate presents
 * the same client certificate to an upstream that demands one and the same hostname certificate.
 * Then kill -9 in the middle of the transaction and after its commit, and run it again.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  certificateKeyAad,
  certificateRequestKeyAad,
  hostnameKeyAad,
  metaSecretAad,
  outboundCaKeyAad,
  webhookSecretAad,
  type MetaSecret,
} from '../src/secrets/aad.js';
import { Keyring, SealError } from '../src/secrets/keyring.js';
import { SEALED_COLUMNS } from '../src/secrets/rotate.js';
import { callHostname } from './helpers/hostname-client.js';
import { inboundRequest } from './helpers/inbound-fixture.js';
import {
  fingerprintOf,
  startMtlsUpstream,
  type Upstream,
  type UpstreamReport,
} from './helpers/inbound-upstream.js';
import { chainPem, makeLeaf, type Issued } from './helpers/pki-fixtures.js';
import { createTestDatabase, type TestDatabase } from './helpers/postgres.js';
import { MAIN, runToExit, startProcess, stopProcess, type RunningProcess } from './helpers/process.js';

const BIN = join(dirname(MAIN), '..', '..', 'bin', 'vaultgate.js');
/** Several vaultgate starts and rotations per test on a loaded 2-core machine. */
const LIMIT = 180_000;

const scratch = mkdtempSync(join(tmpdir(), 'vaultgate-rotate-'));
let clientCa: Issued;
let serverCa: Issued;
let upstream: Upstream;
const running: RunningProcess[] = [];

beforeAll(async () => {
  ({ clientCa, serverCa, upstream } = await startMtlsUpstream('Rotate'));
});
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await upstream?.close();
  rmSync(scratch, { recursive: true, force: true });
});

const newKey = (): Buffer => randomBytes(32);

function keyFile(name: string, key: Buffer): string {
  const path = join(scratch, name);
  writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600 });
  return path;
}

/** One backend's deployment: where the data is and how the current key is given. */
interface Deployment {
  backend: 'sqlite' | 'postgres';
  dataDir: string;
  /** The environment vaultgate and the command run with (the key setting included, when not master.key). */
  env: Record<string, string>;
  /** The key vaultgate would use now: master.key, or the file VAULTGATE_MASTER_KEY_FILE names. */
  currentKey(): Buffer;
  /** What an operator does after a rotation when the key comes from a setting (nothing for master.key). */
  adoptKey(key: Buffer): void;
  db?: TestDatabase;
}

async function start(d: Deployment, env: Record<string, string> = {}): Promise<RunningProcess> {
  const p = await startProcess(d.dataDir, { VAULTGATE_WORKERS: '1', ...d.env, ...env });
  running.push(p);
  return p;
}

interface CommandRun {
  code: number | null;
  stderr: string;
  stdout: string;
}

/**
 * Runs `vaultgate rotate-master-key --new-key-file FILE`. With `killAt`, waits for the failpoint's
 * line and kills the command there with SIGKILL.
 */
function rotate(
  d: Deployment,
  newKeyFile: string,
  killAt?: 'mid-transaction' | 'after-commit',
): Promise<CommandRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, 'rotate-master-key', '--new-key-file', newKeyFile], {
      env: {
        ...process.env,
        VAULTGATE_DATA_DIR: d.dataDir,
        ...d.env,
        ...(killAt ? { VAULTGATE_TEST_ROTATE_FAILPOINT: killAt } : {}),
      },
    });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (killAt && stderr.includes(`failpoint ${killAt}: waiting to be killed`)) child.kill('SIGKILL');
    });
    child.on('close', (code) => resolve({ code, stderr, stdout }));
  });
}

type Row = Record<string, unknown>;

/** Every row of every table of the deployment's database, read around vaultgate. */
async function allRows(d: Deployment): Promise<Map<string, Row[]>> {
  const out = new Map<string, Row[]>();
  if (d.backend === 'sqlite') {
    const conn = new Database(join(d.dataDir, 'vaultgate.db'), { readonly: true, fileMustExist: true });
    try {
      const tables = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as {
        name: string;
      }[];
      for (const { name } of tables) out.set(name, conn.prepare(`SELECT * FROM "${name}"`).all() as Row[]);
    } finally {
      conn.close();
    }
    return out;
  }
  const client = new pg.Client({ connectionString: d.db!.url });
  await client.connect();
  try {
    const tables = await client.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'",
    );
    for (const { table_name } of tables.rows) {
      out.set(table_name, (await client.query<Row>(`SELECT * FROM "${table_name}"`)).rows);
    }
  } finally {
    await client.end();
  }
  return out;
}

/** Runs one statement on the deployment's database, around vaultgate. */
async function exec(d: Deployment, sql: string): Promise<void> {
  if (d.backend === 'sqlite') {
    const conn = new Database(join(d.dataDir, 'vaultgate.db'), { fileMustExist: true });
    try {
      conn.exec(sql);
    } finally {
      conn.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: d.db!.url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** What a sealed value looks like (src/secrets/keyring.ts). */
const SEALED_FORM = /^v1\.[A-Za-z0-9_-]{117,}$/;

interface Sealed {
  where: string;
  value: string;
  /** The binding it was sealed under; undefined when this test does not know one for that column. */
  aad: string | undefined;
}

const text = (row: Row, column: string): string => String(row[column]);
const nullable = (row: Row, column: string): string | null =>
  row[column] === null ? null : String(row[column]);

/** The binding of a sealed value, from its row (src/secrets/aad.ts), per `table.column`. */
function aadOf(table: string, column: string, row: Row): string | undefined {
  switch (`${table}.${column}`) {
    case 'meta.value':
      return metaSecretAad(text(row, 'key') as MetaSecret);
    case 'vaults.outbound_ca_key_sealed':
      return outboundCaKeyAad(text(row, 'id'));
    case 'certificates.private_key_sealed':
      return certificateKeyAad({
        id: text(row, 'id'),
        vault_id: text(row, 'vault_id'),
        credential_id: nullable(row, 'credential_id'),
        route_id: nullable(row, 'route_id'),
        certificate_pem: text(row, 'certificate_pem'),
      });
    case 'certificate_requests.private_key_sealed':
      return certificateRequestKeyAad({
        id: text(row, 'id'),
        vault_id: text(row, 'vault_id'),
        credential_id: nullable(row, 'credential_id'),
        route_id: nullable(row, 'route_id'),
        csr_pem: text(row, 'csr_pem'),
      });
    case 'hostnames.private_key_sealed':
      return hostnameKeyAad({
        id: text(row, 'id'),
        vault_id: text(row, 'vault_id'),
        hostname: text(row, 'hostname'),
        certificate_pem: text(row, 'certificate_pem'),
      });
    case 'webhooks.secret_sealed':
      return webhookSecretAad(text(row, 'id'));
    default:
      return undefined;
  }
}

/** Every value in sealed form anywhere in the database, whatever its column is called. */
async function sealedValues(d: Deployment): Promise<Sealed[]> {
  const out: Sealed[] = [];
  for (const [table, rows] of await allRows(d)) {
    for (const row of rows) {
      for (const [column, value] of Object.entries(row)) {
        if (typeof value !== 'string' || !SEALED_FORM.test(value)) continue;
        const key = table === 'meta' ? `meta:${text(row, 'key')}` : `${table}.${column}:${text(row, 'id')}`;
        out.push({ where: key, value, aad: aadOf(table, column, row) });
      }
    }
  }
  return out.sort((a, b) => a.where.localeCompare(b.where));
}

function opens(key: Buffer, s: Sealed): boolean {
  try {
    new Keyring(key).open(s.value, s.aad ?? '');
    return true;
  } catch (err) {
    if (err instanceof SealError) return false;
    throw err;
  }
}

/** Every sealed value opens under `key` (and its known binding), none under any of `old`. */
async function expectSealedUnder(d: Deployment, key: Buffer, old: Buffer[]): Promise<Sealed[]> {
  const sealed = await sealedValues(d);
  expect(sealed.filter((s) => s.aad === undefined).map((s) => s.where)).toEqual([]);
  expect(sealed.filter((s) => !opens(key, s)).map((s) => s.where)).toEqual([]);
  for (const o of old) expect(sealed.filter((s) => opens(o, s)).map((s) => s.where)).toEqual([]);
  return sealed;
}

function serverSecretOf(sealed: Sealed[], key: Buffer): string {
  const s = sealed.find((v) => v.where === 'meta:server_secret');
  expect(s).toBeDefined();
  return new Keyring(key).open(s!.value, s!.aad!).toString('base64');
}

interface Made {
  token: string;
  vaultId: string;
  host: string;
  clientFingerprint: string;
  hostname: string;
  hostnameFingerprint: string;
}

async function call(p: RunningProcess, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${p.ports.admin}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const textBody = await res.text();
  expect(res.ok, `${method} ${path}: ${res.status} ${textBody}`).toBe(true);
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers
  return (textBody === '' ? undefined : JSON.parse(textBody)) as any;
}

/**
 * One of every sealed thing, through the API: a route with a client certificate (key), a credential
 * with an outbound certificate (key), a hostname with its server certificate (key), a pending
 * certificate request (key), a webhook (secret); the vault brings its outbound CA key.
 */
async function makeData(p: RunningProcess, dataDir: string): Promise<Made> {
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const vault = (await call(p, token, 'POST', '/vaults', { name: 'rotate me', environment: 'sandbox' })).data;
  const route = (
    await call(p, token, 'POST', `/vaults/${vault.id}/routes`, {
      destination_override_endpoint: upstream.url.href,
      upstream_tls: { ca_pem: serverCa.certPem },
    })
  ).data;
  const tag = randomBytes(4).toString('hex');
  const client = makeLeaf({ issuer: clientCa, cn: `rotate-client-${tag}` });
  await call(p, token, 'POST', `/vaults/${vault.id}/certificates`, {
    proxy_type: 'inbound',
    route_id: route.id,
    certificate: chainPem(client),
    private_key: client.keyPem,
  });
  const credential = (await call(p, token, 'POST', `/vaults/${vault.id}/credentials`, {})).data;
  const outbound = makeLeaf({ issuer: clientCa, cn: `rotate-outbound-${tag}` });
  await call(p, token, 'POST', `/vaults/${vault.id}/certificates`, {
    proxy_type: 'outbound',
    credential_id: credential.id,
    certificate: chainPem(outbound),
    private_key: outbound.keyPem,
  });
  const hostname = `rotate-${tag}.acme.example`;
  const serving = makeLeaf({
    issuer: serverCa,
    cn: hostname,
    eku: ['serverAuth'],
    sans: [`DNS:${hostname}`],
  });
  await call(p, token, 'POST', `/vaults/${vault.id}/hostnames`, {
    hostname,
    certificate: chainPem(serving),
    private_key: serving.keyPem,
  });
  const request = (
    await call(p, token, 'POST', `/vaults/${vault.id}/certificate-requests`, {
      proxy_type: 'inbound',
      route_id: route.id,
      subject: { common_name: `rotate-csr-${tag}` },
      key_type: 'ec',
    })
  ).data;
  expect(request.status).toBe('pending');
  await call(p, token, 'POST', '/webhooks', {
    url: 'http://127.0.0.1:9/rotate-hook',
    events: ['hostname.expiring'],
  });
  return {
    token,
    vaultId: vault.id,
    host: vault.inbound_host,
    clientFingerprint: fingerprintOf(client.certPem),
    hostname,
    hostnameFingerprint: fingerprintOf(serving.certPem),
  };
}

/** The client certificate is presented in the handshake the upstream demands; the hostname serves its certificate. */
async function expectServed(p: RunningProcess, made: Made): Promise<void> {
  const localCa = await (
    await fetch(`http://127.0.0.1:${p.ports.admin}/api/v1/local-ca`, {
      headers: { authorization: `Bearer ${made.token}` },
    })
  ).text();
  const answer = await inboundRequest(p.ports.inbound, localCa, made.host, { path: '/rotated' });
  expect(answer.status, answer.body.toString()).toBe(200);
  expect((answer.json as UpstreamReport).clientFingerprint256).toBe(made.clientFingerprint);
  const named = await callHostname({ port: p.ports.inbound, sni: made.hostname, ca: serverCa.certPem });
  expect(named.peer.fingerprint256).toBe(made.hostnameFingerprint);
  expect(named.status, JSON.stringify(named.json)).toBe(200);
  expect((named.json as UpstreamReport).clientFingerprint256).toBe(made.clientFingerprint);
}

function expectNoKeyIn(output: string, ...keys: Buffer[]): void {
  for (const key of keys) {
    expect(output).not.toContain(key.toString('base64'));
    expect(output).not.toContain(key.toString('base64url'));
    expect(output).not.toContain(key.toString('hex'));
  }
}

/** Runs the command with these extra settings; expects a refusal naming `reason`, and nothing changed. */
async function expectRefused(
  d: Deployment,
  newKeyFile: string,
  reason: string | RegExp,
  env: Record<string, string> = {},
): Promise<void> {
  const before = await sealedValues(d);
  const key = d.currentKey();
  const refused = await rotate({ ...d, env: { ...d.env, ...env } }, newKeyFile);
  expect(refused.code, refused.stderr).toBe(2);
  expect(refused.stderr).toMatch(/^error: [^\n]+\.\n$/);
  expect(refused.stderr).toMatch(reason);
  expect(await sealedValues(d)).toEqual(before);
  expect(d.currentKey().equals(key)).toBe(true);
}

function sqliteDeployment(): Deployment {
  const dataDir = join(scratch, 'sqlite-data');
  return {
    backend: 'sqlite',
    dataDir,
    env: {},
    currentKey: () => Buffer.from(readFileSync(join(dataDir, 'master.key'), 'utf8').trim(), 'base64'),
    adoptKey: () => undefined,
  };
}

async function postgresDeployment(): Promise<Deployment> {
  const db = await createTestDatabase('vg_rotate');
  const file = keyFile('pg-master.key', newKey());
  return {
    backend: 'postgres',
    dataDir: join(scratch, 'pg-data'),
    env: { VAULTGATE_DATABASE_URL: db.url, VAULTGATE_MASTER_KEY_FILE: file },
    currentKey: () => Buffer.from(readFileSync(file, 'utf8').trim(), 'base64'),
    adoptKey: (key) => writeFileSync(file, `${key.toString('base64')}\n`, { mode: 0o600 }),
    db,
  };
}

describe.each([
  { backend: 'sqlite' as const, make: async () => sqliteDeployment() },
  { backend: 'postgres' as const, make: postgresDeployment },
])('rotate-master-key on $backend', ({ backend, make }) => {
  let d: Deployment;
  let made: Made;
  /** Every key this deployment had, oldest first. */
  const keys: Buffer[] = [];

  beforeAll(async () => {
    d = await make();
  });
  afterAll(async () => {
    await d?.db?.drop();
  });

  it(
    'refuses while vaultgate runs; stopped, re-seals everything: the old key opens nothing, the same certificates are presented',
    async () => {
      const first = await start(d);
      made = await makeData(first, d.dataDir);
      await expectServed(first, made);
      keys.push(d.currentKey());
      const before = await expectSealedUnder(d, keys[0]!, []);
      // The schema's sealed columns are the ones the command re-seals: a new one fails here first.
      const columns = [
        ...new Set(before.filter((s) => !s.where.startsWith('meta:')).map((s) => s.where.split(':')[0])),
      ];
      expect(columns.sort()).toEqual([...SEALED_COLUMNS].sort());

      const next = newKey();
      const nextFile = keyFile(`${backend}-key-1`, next);
      const refused = await rotate(d, nextFile);
      expect(refused.code, refused.stderr).toBe(2);
      expect(refused.stderr).toMatch(
        /^error: .*(in use by another process|vaultgate is running on this database).*\.\n$/,
      );
      await stopProcess(first);
      expect(await sealedValues(d)).toEqual(before);

      const done = await rotate(d, nextFile);
      expect(done.code, done.stderr).toBe(0);
      expect(done.stderr).toContain('re-sealed 2 certificate keys');
      expect(done.stderr).toContain('re-sealed 1 pending certificate request keys');
      expect(done.stderr).toContain('re-sealed 1 hostname server keys');
      expect(done.stderr).toContain('re-sealed 1 webhook signing secrets');
      expectNoKeyIn(done.stderr + done.stdout, keys[0]!, next);
      d.adoptKey(next);
      keys.push(next);
      expect(d.currentKey().equals(next)).toBe(true);

      const after = await expectSealedUnder(d, next, [keys[0]!]);
      // Every value was sealed again (fresh envelopes), none left behind, none lost.
      expect(after.map((s) => s.where)).toEqual(before.map((s) => s.where));
      const old = new Set(before.map((s) => s.value));
      expect(after.filter((s) => old.has(s.value)).map((s) => s.where)).toEqual([]);
      // Same server secret inside: credential hashes and session ids keyed with it stay valid.
      expect(serverSecretOf(after, next)).toBe(serverSecretOf(before, keys[0]!));

      const withOld = await runToExit({
        VAULTGATE_DATA_DIR: d.dataDir,
        VAULTGATE_WORKERS: '1',
        ...d.env,
        ...(d.backend === 'sqlite' ? { VAULTGATE_MASTER_KEY: keys[0]!.toString('base64') } : {}),
        ...(d.backend === 'postgres' ? { VAULTGATE_MASTER_KEY_FILE: keyFile('pg-old.key', keys[0]!) } : {}),
      });
      expect(withOld.code, withOld.output).toBe(2);
      expect(withOld.output).toContain('The master key does not match');

      const second = await start(d);
      await expectServed(second, made);
      const audit = await call(second, made.token, 'GET', '/audit-events?action=master_key.rotated');
      expect(audit.data.map((e: { actor: string }) => e.actor)).toEqual(['system']);
      await stopProcess(second);
    },
    LIMIT,
  );

  it(
    'killed in the middle of the transaction: nothing changed; run again, everything is under the new key',
    async () => {
      const current = keys[keys.length - 1]!;
      const before = await expectSealedUnder(d, current, []);
      const next = newKey();
      const nextFile = keyFile(`${backend}-key-2`, next);
      const killed = await rotate(d, nextFile, 'mid-transaction');
      expect(killed.code, killed.stderr).toBe(null);
      // Part of the rows were re-sealed inside the transaction before the kill.
      expect(killed.stderr).toContain('re-sealed 2 certificate keys');
      expect(await sealedValues(d)).toEqual(before);
      expect(d.currentKey().equals(current)).toBe(true);

      const again = await rotate(d, nextFile);
      expect(again.code, again.stderr).toBe(0);
      d.adoptKey(next);
      keys.push(next);
      const after = await expectSealedUnder(d, next, keys.slice(0, -1));
      expect(after.map((s) => s.where)).toEqual(before.map((s) => s.where));
    },
    LIMIT,
  );

  it(
    'killed after the commit, before the key is installed: run again, it only finishes; vaultgate starts on the new key',
    async () => {
      const current = keys[keys.length - 1]!;
      const before = await sealedValues(d);
      const next = newKey();
      const nextFile = keyFile(`${backend}-key-3`, next);
      const killed = await rotate(d, nextFile, 'after-commit');
      expect(killed.code, killed.stderr).toBe(null);
      expect(killed.stderr).toContain('committed:');
      // Committed: the database is under the new key while the key in place is still the old one.
      await expectSealedUnder(d, next, keys);
      expect(d.currentKey().equals(current)).toBe(true);

      const again = await rotate(d, nextFile);
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toContain('already sealed under the new master key');
      expect(again.stderr).not.toContain('re-sealing');
      expectNoKeyIn(again.stderr + again.stdout + killed.stderr, current, next);
      if (d.backend === 'sqlite') {
        // Installed where the current key came from, owner-only, and no temporary file left.
        expect(d.currentKey().equals(next)).toBe(true);
        expect(statSync(join(d.dataDir, 'master.key')).mode & 0o777).toBe(0o600);
        expect(existsSync(join(d.dataDir, 'master.key.rotating'))).toBe(false);
      } else {
        expect(again.stderr).toContain('replace VAULTGATE_MASTER_KEY_FILE');
        d.adoptKey(next);
      }
      keys.push(next);
      const after = await expectSealedUnder(d, next, keys.slice(0, -1));
      expect(after.map((s) => s.where)).toEqual(before.map((s) => s.where));

      const third = await start(d);
      await expectServed(third, made);
      // One event per committed rotation: the first, the re-run after the kill mid-way, this one.
      const audit = await call(third, made.token, 'GET', '/audit-events?action=master_key.rotated');
      expect(audit.data).toHaveLength(3);
      await stopProcess(third);
    },
    LIMIT,
  );

  it(
    'refuses, changing nothing: a missing or malformed new key, the current key again, a key that opens nothing',
    async () => {
      const current = keys[keys.length - 1]!;
      await expectRefused(
        d,
        join(scratch, 'no-such.key'),
        /the new key file .*no-such\.key cannot be read \(ENOENT\)/,
      );
      const short = join(scratch, `${backend}-short.key`);
      writeFileSync(short, `${randomBytes(16).toString('base64')}\n`, { mode: 0o600 });
      await expectRefused(d, short, /must hold the base64 of exactly 32 random bytes/);
      await expectRefused(
        d,
        keyFile(`${backend}-same.key`, current),
        /the new key is the current master key/,
      );
      // A current key that is not this database's (and a new one that is not either).
      const stranger = keyFile(`${backend}-stranger.key`, newKey());
      await expectRefused(
        d,
        keyFile(`${backend}-unrelated.key`, newKey()),
        /neither the current master key nor the new one opens this database/,
        { VAULTGATE_MASTER_KEY_FILE: stranger },
      );
      const last = newKey();
      const run = await rotate(d, keyFile(`${backend}-last.key`, last));
      expect(run.code, run.stderr).toBe(0); // and the data is still fine for a real rotation
      expectNoKeyIn(run.stderr, current);
      d.adoptKey(last);
      expect(d.currentKey().equals(last)).toBe(true);

      // A sealed column or meta secret this version does not know (a newer vaultgate's) is never left behind.
      const later = keyFile(`${backend}-later.key`, newKey());
      await exec(d, 'ALTER TABLE webhooks ADD COLUMN signing_key_sealed TEXT');
      await expectRefused(
        d,
        later,
        /sealed column webhooks\.signing_key_sealed that this vaultgate cannot re-seal/,
      );
      await exec(d, 'ALTER TABLE webhooks DROP COLUMN signing_key_sealed');
      await exec(d, `INSERT INTO meta (key, value) VALUES ('future_secret', 'v1.${'A'.repeat(160)}')`);
      await expectRefused(d, later, /sealed meta value future_secret that this vaultgate cannot re-seal/);
    },
    LIMIT,
  );
});
