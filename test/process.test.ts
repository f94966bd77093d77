import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { inboundRequest } from './helpers/inbound-fixture.js';
import { startUpstream } from './helpers/inbound-upstream.js';
import { makeCa, makeLeaf } from './helpers/pki-fixtures.js';
import { inboundVaultTo, runToExit, startProcess } from './helpers/process.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vaultgate-proc-'));
  dirs.push(dir);
  return dir;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('start-up settings', () => {
  it('stops with exit code 2 and one sentence naming the setting for bad values', async () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ VAULTGATE_ADMIN_PORT: 'eighty' }, /VAULTGATE_ADMIN_PORT must be a port number/],
      [{ VAULTGATE_INBOUND_PORT: '70000' }, /VAULTGATE_INBOUND_PORT must be a port number/],
      [
        { VAULTGATE_MASTER_KEY: 'c2hvcnQ=' },
        /VAULTGATE_MASTER_KEY must be the base64 of exactly 32 random bytes/,
      ],
      [{ VAULTGATE_LOG_LEVEL: 'loud' }, /VAULTGATE_LOG_LEVEL must be one of/],
      [{ VAULTGATE_DATABASE_URL: 'mysql://x' }, /VAULTGATE_DATABASE_URL must be a postgres:\/\/ URL/],
      [{ VAULTGATE_UPSTREAM_CA_FILE: '/nonexistent/ca.pem' }, /VAULTGATE_UPSTREAM_CA_FILE cannot be read/],
    ];
    for (const [env, message] of cases) {
      const { code, output } = await runToExit({ VAULTGATE_DATA_DIR: tempDir(), ...env });
      expect(code, output).toBe(2);
      expect(output).toMatch(message);
      expect(output.trim().split('\n')).toHaveLength(1);
    }
  });

  it('names VAULTGATE_DATABASE_URL when PostgreSQL cannot be reached, without the password', async () => {
    const { code, output } = await runToExit({
      VAULTGATE_DATA_DIR: tempDir(),
      VAULTGATE_DATABASE_URL: 'postgres://vg:hunter2secret@127.0.0.1:1/nope',
    });
    expect(code).toBe(2);
    expect(output).toMatch(/VAULTGATE_DATABASE_URL/);
    expect(output).not.toContain('hunter2secret');
  });

  it('accepts command-line flags, which win over the environment', async () => {
    const { code, output } = await runToExit({ VAULTGATE_DATA_DIR: tempDir() }, ['--admin-port', 'x']);
    expect(code).toBe(2);
    expect(output).toMatch(/VAULTGATE_ADMIN_PORT/);
    const unknown = await runToExit({ VAULTGATE_DATA_DIR: tempDir() }, ['--no-such-flag']);
    expect(unknown.code).toBe(2);
  });
});

describe('command line', () => {
  it('prints its version and its settings', async () => {
    const pkg = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'package.json'), 'utf8')) as {
      version: string;
    };
    for (const flag of ['--version', '-V']) {
      const run = await runToExit({}, [flag]);
      expect(run.code).toBe(0);
      expect(run.output).toBe(`vaultgate ${pkg.version}\n`);
    }
    const help = await runToExit({}, ['--help']);
    expect(help.code).toBe(0);
    expect(help.output).toContain('--version');
    expect(help.output).toContain('VAULTGATE_ADMIN_PORT');
  });
});

describe('first and later starts', () => {
  it('creates its secrets once, prints them once, and reuses them', async () => {
    const dataDir = tempDir();
    const t0 = Date.now();
    const first = await startProcess(dataDir);
    const coldMs = Date.now() - t0;
    const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
    expect(statSync(join(dataDir, 'admin-token')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'master.key')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'vaultgate.db')).mode & 0o777).toBe(0o600);
    expect(first.output()).toContain(token);
    expect(first.output()).toMatch(/HTTPS_PROXY=http:\/\/US[1-9A-HJ-NP-Za-km-z]{22}:[0-9a-f-]{36}@/);
    expect(first.ports.admin).toBeGreaterThan(0);

    const vaults = await fetch(`http://127.0.0.1:${first.ports.admin}/api/v1/vaults`, {
      headers: { authorization: `Bearer ${token}` },
    }).then((r) => r.json() as Promise<{ data: { environment: string }[] }>);
    expect(vaults.data).toHaveLength(1);
    expect(vaults.data[0]?.environment).toBe('sandbox');

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // The banner (with the token) is human text on stderr; stdout is JSON lines only.
    expect(first.stdout()).not.toContain(token);
    expect(first.stdout()).not.toContain('vaultgate is running');
    for (const line of first
      .stdout()
      .split('\n')
      .filter((l) => l.trim() !== '')) {
      expect(() => JSON.parse(line), line).not.toThrow();
    }

    // Nothing but master.key and admin-token holds a secret in clear.
    const password = /HTTPS_PROXY=http:\/\/US\w+:([0-9a-f-]{36})@/.exec(first.output())?.[1] ?? 'missing';
    for (const name of readdirSync(dataDir)) {
      if (name === 'admin-token' || name === 'master.key') continue;
      const bytes = readFileSync(join(dataDir, name));
      expect(bytes.includes(Buffer.from(token)), name).toBe(false);
      expect(bytes.includes(Buffer.from(password)), name).toBe(false);
      expect(bytes.includes(Buffer.from('PRIVATE KEY')), name).toBe(false);
    }

    const t1 = Date.now();
    const second = await startProcess(dataDir);
    const warmMs = Date.now() - t1;
    expect(second.output()).not.toContain(token);
    expect(second.output()).not.toContain(password);
    second.child.kill('SIGINT');
    expect(await second.exited, second.output()).toBe(0);
    console.log(`start-up to banner: empty data dir ${coldMs} ms, existing data dir ${warmMs} ms`);
  });

  it('refuses to start when the master key does not match the data', async () => {
    const dataDir = tempDir();
    const key = randomBytes(32).toString('base64');
    const first = await startProcess(dataDir, { VAULTGATE_MASTER_KEY: key });
    first.child.kill('SIGTERM');
    await first.exited;
    const { code, output } = await runToExit({
      VAULTGATE_DATA_DIR: dataDir,
      VAULTGATE_MASTER_KEY: randomBytes(32).toString('base64'),
    });
    expect(code).toBe(2);
    expect(output).toMatch(/master key does not match this data/);
  });
});

describe('shutdown with data-plane workers', () => {
  // Ctrl-C in a terminal and systemd's default KillMode=control-group signal every process of the
  // group at once, workers included: each must drain, not die of the default action.
  it.each([
    ['the control plane', false],
    ['the whole process group', true],
  ])('SIGTERM to %s lets every accepted request of every worker finish, then exits 0', async (_, group) => {
    const root = makeCa({ cn: 'Process Drain Root' });
    const upstream = await startUpstream({
      server: makeLeaf({
        issuer: root,
        cn: 'localhost',
        eku: ['serverAuth'],
        sans: ['DNS:localhost', 'IP:127.0.0.1'],
      }),
      holdPrefix: '/hold',
    });
    const dataDir = tempDir();
    const vg = await startProcess(dataDir, { VAULTGATE_WORKERS: '2' }, { processGroup: group });
    try {
      const { inboundHost, localCa } = await inboundVaultTo(vg, dataDir, {
        name: 'drain',
        upstream: upstream.url.origin,
        caPem: root.certPem,
      });
      // Each on its own connection, so both workers may hold some; all reach the upstream first.
      const inFlight = Array.from({ length: 12 }, (_, i) =>
        inboundRequest(vg.ports.inbound, localCa, inboundHost, { path: `/hold/${i}` }),
      );
      await upstream.held(12);
      if (group) process.kill(-vg.child.pid!, 'SIGTERM');
      else vg.child.kill('SIGTERM');
      // Held past the 1 s a worker has to say it stopped accepting: draining workers must not be killed then.
      await new Promise((r) => setTimeout(r, 1_500));
      upstream.release();
      const answers = await Promise.all(inFlight);
      expect(answers.map((a) => a.status)).toEqual(Array(12).fill(200));
      expect(answers.every((a) => a.headers.connection === 'close')).toBe(true);
      expect(await vg.exited).toBe(0);
    } finally {
      try {
        process.kill(group ? -vg.child.pid! : vg.child.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await upstream.close();
    }
  });
});
