/**
 * The runbooks of docs/operations.md, run as written: each shell block marked `<!-- ops:NAME -->` is
 * taken from the page and run with bash against a real vaultgate process, SQLite and PostgreSQL.
 * A restore counts only when the restarted vaultgate presents the restored client certificate to an
 * upstream that demands one: listing the row would pass even if its sealed key no longer opened.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { userInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inboundRequest } from './helpers/inbound-fixture.js';
import {
  fingerprintOf,
  startMtlsUpstream,
  type Upstream,
  type UpstreamReport,
} from './helpers/inbound-upstream.js';
import { chainPem, makeLeaf, type Issued } from './helpers/pki-fixtures.js';
import { createTestDatabase, TEST_DATABASE_URL, type TestDatabase } from './helpers/postgres.js';
import { runToExit, startProcess, stopProcess, type RunningProcess } from './helpers/process.js';

const DOC = readFileSync(join(import.meta.dirname, '..', 'docs', 'operations.md'), 'utf8');

/** The shell block after `<!-- ops:NAME -->` in docs/operations.md. */
function block(name: string): string {
  const m = new RegExp(`<!-- ops:${name} -->\\s*\`\`\`sh\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  if (!m?.[1]) throw new Error(`docs/operations.md has no sh block marked <!-- ops:${name} -->`);
  return m[1];
}

/** The variables the settings block exports: what every other block may use, and what we must set. */
const SETTINGS = [...block('settings').matchAll(/(?:export |\s)([A-Z_][A-Z0-9_]*)=/g)].map((m) => m[1]!);

/** Runs a runbook block as the page says to run it as a script (`set -eu`, and pipefail). */
function run(name: string, env: Record<string, string>): string {
  try {
    return execFileSync('bash', ['-euo', 'pipefail', '-c', block(name)], {
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/root', ...env },
      encoding: 'utf8',
      stdio: 'pipe',
      timeout: 60_000,
    });
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string };
    throw new Error(`runbook block ${name} failed: ${e.stderr ?? ''}${e.stdout ?? ''}`, { cause: err });
  }
}

const scratch = mkdtempSync(join(tmpdir(), 'vaultgate-ops-'));
let clientCa: Issued;
let serverCa: Issued;
let upstream: Upstream;
const running: RunningProcess[] = [];

beforeAll(async () => {
  ({ clientCa, serverCa, upstream } = await startMtlsUpstream('Ops'));
});
afterAll(async () => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  await upstream?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function start(dataDir: string, env: Record<string, string> = {}): Promise<RunningProcess> {
  const p = await startProcess(dataDir, { VAULTGATE_WORKERS: '1', ...env });
  running.push(p);
  return p;
}

/** One management API call with a bearer token (or a dashboard cookie). */
async function api(
  p: RunningProcess,
  auth: { token?: string; cookie?: string },
  method: string,
  path: string,
  body?: unknown,
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON answers
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const res = await fetch(`http://127.0.0.1:${p.ports.admin}/api/v1${path}`, {
    method,
    headers: {
      ...(auth.token ? { authorization: `Bearer ${auth.token}` } : {}),
      ...(auth.cookie ? { cookie: auth.cookie } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text, headers: res.headers };
}

interface Made {
  vaultId: string;
  host: string;
  certificateId: string;
  fingerprint: string;
}

/** A vault with an inbound route to the upstream and a client certificate (with its key) on it. */
async function makeData(p: RunningProcess, token: string): Promise<Made> {
  const vault = await api(p, { token }, 'POST', '/vaults', { name: 'restore me', environment: 'sandbox' });
  expect(vault.status, vault.text).toBe(201);
  const vaultId = vault.json.data.id as string;
  const route = await api(p, { token }, 'POST', `/vaults/${vaultId}/routes`, {
    destination_override_endpoint: upstream.url.href,
    upstream_tls: { ca_pem: serverCa.certPem },
  });
  expect(route.status, route.text).toBe(201);
  const leaf = makeLeaf({ issuer: clientCa, cn: `ops-restore-${randomBytes(4).toString('hex')}` });
  const cert = await api(p, { token }, 'POST', `/vaults/${vaultId}/certificates`, {
    proxy_type: 'inbound',
    route_id: route.json.data.id,
    certificate: chainPem(leaf),
    private_key: leaf.keyPem,
  });
  expect(cert.status, cert.text).toBe(201);
  return {
    vaultId,
    host: vault.json.data.inbound_host as string,
    certificateId: cert.json.data.id as string,
    fingerprint: fingerprintOf(leaf.certPem),
  };
}

/** The certificate is listed and presented: the upstream reports it in the handshake it demanded. */
async function expectServed(p: RunningProcess, token: string, made: Made): Promise<void> {
  const list = await api(p, { token }, 'GET', `/vaults/${made.vaultId}/certificates`);
  expect(list.status, list.text).toBe(200);
  expect(list.json.data.map((c: { id: string }) => c.id)).toEqual([made.certificateId]);
  const localCa = await api(p, { token }, 'GET', '/local-ca');
  expect(localCa.status).toBe(200);
  const answer = await inboundRequest(p.ports.inbound, localCa.text, made.host, { path: '/restored' });
  expect(answer.status, answer.body.toString()).toBe(200);
  expect((answer.json as UpstreamReport).clientFingerprint256).toBe(made.fingerprint);
}

const me = userInfo().username;
/** Each test starts vaultgate two or three times: generous on a loaded 2-core machine. */
const LIMIT = 150_000;

describe('docs/operations.md', () => {
  it('every variable the runbooks use is one of the settings the page asks to set', () => {
    const used = new Set<string>();
    for (const m of DOC.matchAll(/<!-- ops:([a-z-]+) -->/g)) {
      if (m[1] === 'settings') continue;
      for (const v of block(m[1]!).matchAll(/\$\{?([A-Z_][A-Z0-9_]*)/g)) used.add(v[1]!);
    }
    used.delete('BACKUP'); // set by each block itself
    expect([...used].filter((v) => !SETTINGS.includes(v))).toEqual([]);
  });

  it(
    'SQLite: an online backup, a wiped data dir, the restore: the certificate is presented again',
    async () => {
      const dataDir = join(scratch, 'sqlite-data');
      const env = {
        VAULTGATE_DATA_DIR: dataDir,
        VG_USER: me,
        BACKUP_DIR: join(scratch, 'sqlite-backups'),
      };
      const first = await start(dataDir);
      const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const made = await makeData(first, token);
      await expectServed(first, token, made);
      // Online, as the runbook says: vaultgate keeps running (and has its writes in the WAL file).
      run('sqlite-backup', env);
      await stopProcess(first);

      rmSync(dataDir, { recursive: true, force: true });
      run('sqlite-restore', env);
      // Restored without its master key, the data refuses to start, saying why.
      renameSync(join(dataDir, 'master.key'), join(scratch, 'master.key.aside'));
      const keyless = await runToExit({ VAULTGATE_DATA_DIR: dataDir, VAULTGATE_WORKERS: '1' });
      expect(keyless.code, keyless.output).toBe(2);
      expect(keyless.output).toContain('The master key does not match');
      rmSync(join(dataDir, 'master.key'));
      renameSync(join(scratch, 'master.key.aside'), join(dataDir, 'master.key'));

      const second = await start(dataDir);
      expect(second.output()).not.toContain(token); // the restored token: not a new one, not printed
      await expectServed(second, token, made);
      await stopProcess(second);
    },
    LIMIT,
  );

  it(
    'PostgreSQL: pg_dump while running, a dropped database and lost key files, the restore: presented again',
    async () => {
      const db: TestDatabase = await createTestDatabase('vg_ops');
      try {
        const url = new URL(db.url);
        const etc = join(scratch, 'pg-etc');
        execFileSync('install', ['-d', '-m', '0700', etc]);
        const keyFile = join(etc, 'master.key');
        const tokenFile = join(etc, 'admin-token');
        writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
        const token = `vgadm_${randomBytes(24).toString('base64url')}`;
        writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
        const dataDir = join(scratch, 'pg-data');
        const vgEnv = {
          VAULTGATE_DATABASE_URL: db.url,
          VAULTGATE_MASTER_KEY_FILE: keyFile,
          VAULTGATE_ADMIN_TOKEN_FILE: tokenFile,
        };
        const env = {
          ...vgEnv,
          VG_USER: me,
          BACKUP_DIR: join(scratch, 'pg-backups'),
          VG_DB: url.pathname.slice(1),
          VG_DB_OWNER: decodeURIComponent(url.username),
          PGHOST: url.hostname,
          PGPORT: url.port || '5432',
          PGUSER: new URL(TEST_DATABASE_URL).username,
        };
        const first = await start(dataDir, vgEnv);
        const made = await makeData(first, token);
        await expectServed(first, token, made);
        run('postgres-backup', env);
        await stopProcess(first);

        // Everything gone: the database, the key files, the instance's data dir.
        await db.drop();
        rmSync(etc, { recursive: true, force: true });
        rmSync(dataDir, { recursive: true, force: true });
        execFileSync('install', ['-d', '-m', '0700', etc]);
        run('postgres-restore', env);
        expect(existsSync(keyFile)).toBe(true);

        const second = await start(dataDir, vgEnv);
        await expectServed(second, token, made);
        await stopProcess(second);
      } finally {
        await db.drop();
      }
    },
    LIMIT,
  );

  it(
    'rotating the admin token: the old one and its dashboard sessions are refused after the restart',
    async () => {
      const dataDir = join(scratch, 'rotate-data');
      const first = await start(dataDir);
      const old = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      const signIn = await api(first, {}, 'POST', '/session', { token: old });
      expect(signIn.status, signIn.text).toBe(201);
      const cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
      expect((await api(first, { cookie }, 'GET', '/vaults')).status).toBe(200);

      run('rotate-admin-token', {
        VAULTGATE_DATA_DIR: dataDir,
        VG_USER: me,
        ADMIN_TOKEN_FILE: join(dataDir, 'admin-token'),
      });
      await stopProcess(first);
      const fresh = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
      expect(fresh).not.toBe(old);
      expect(fresh).toMatch(/^vgadm_[A-Za-z0-9_-]{32}$/);

      const second = await start(dataDir);
      expect(second.output()).not.toContain(fresh); // written by the operator: never printed
      expect((await api(second, { token: old }, 'GET', '/vaults')).status).toBe(401);
      expect((await api(second, { cookie }, 'GET', '/vaults')).status).toBe(401);
      expect((await api(second, { token: fresh }, 'GET', '/vaults')).status).toBe(200);
      await stopProcess(second);
    },
    LIMIT,
  );
});
