import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CONTAINERS, createLogger, HEADER_CONTAINERS, SECRET_FIELDS } from '../src/observability/logger.js';
import { inboundRequest } from './helpers/inbound-fixture.js';
import { startUpstream } from './helpers/inbound-upstream.js';
import { makeCa, makeLeaf } from './helpers/pki-fixtures.js';
import { MAIN, inboundVaultTo, startProcess } from './helpers/process.js';

type Line = Record<string, unknown>;

function capture(level: Parameters<typeof createLogger>[0] = 'debug'): {
  log: ReturnType<typeof createLogger>;
  lines: Line[];
  raw: string[];
} {
  const raw: string[] = [];
  const lines: Line[] = [];
  const log = createLogger(level, {}, (line) => {
    raw.push(line);
    lines.push(JSON.parse(line) as Line);
  });
  return { log, lines, raw };
}

const SECRET = 'S3CRET-d0e1f2a3b4c5';
const PEM = `-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg${SECRET}\n-----END PRIVATE KEY-----\n`;

describe('log lines', () => {
  it('are one JSON object per line with a level label, an ISO time, msg and the fields', () => {
    const { log, lines, raw } = capture('info');
    const child = log.child({ component: 'inbound', worker: 2 });
    child.info('inbound request', { request_id: 'r-1', status: 200, skipped: undefined });
    child.debug('not at info');
    log.warn('careful');
    log.error('broken', { err: Object.assign(new Error('no route'), { code: 'E_X', request: { big: 1 } }) });
    expect(raw.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toEqual({
      level: 'info',
      time: expect.any(String),
      msg: 'inbound request',
      component: 'inbound',
      worker: 2,
      request_id: 'r-1',
      status: 200,
    });
    expect(new Date(String(lines[0]?.time)).toISOString()).toBe(lines[0]?.time);
    expect(lines.map((l) => l.level)).toEqual(['info', 'warn', 'error']);
    // An error is its name, message and code: no stack, no properties a library hung on it.
    expect(lines[2]?.err).toEqual({ name: 'Error', message: 'no route', code: 'E_X' });
  });

  it('never carry a secret-named field, at the top, in the listed containers or in headers', () => {
    const { log, lines, raw } = capture();
    for (const name of SECRET_FIELDS) {
      const header = /authorization|cookie/i.test(name);
      const fields: Record<string, unknown> = {
        [name]: SECRET,
        ...Object.fromEntries(CONTAINERS.map((c) => [c, { [name]: SECRET, kept: 'yes' }])),
        ...(header ? { headers: { [name]: SECRET }, req: { headers: { [name]: SECRET } } } : {}),
      };
      log.info('secret field', fields);
      // The caller's object is left as it was.
      expect(fields[name]).toBe(SECRET);
      expect(fields.settings).toEqual({ [name]: SECRET, kept: 'yes' });
      const line = lines.at(-1) as Record<string, Record<string, unknown>>;
      expect(line[name], name).toBe('[redacted]');
      for (const c of CONTAINERS)
        expect(line[c], `${c}.${name}`).toEqual({ [name]: '[redacted]', kept: 'yes' });
    }
    expect(HEADER_CONTAINERS).toEqual(expect.arrayContaining(['headers', 'req.headers']));
    // What vaultgate could log by mistake: its settings, a credential, a request's headers.
    log.error('shapes', {
      settings: { masterKey: SECRET, adminToken: SECRET, databaseUrl: `postgres://vg:${SECRET}@db/vg` },
      credential: { username: 'US1', password: SECRET, passwordHash: SECRET },
      body: { pkcs12: SECRET, passphrase: SECRET, private_key: SECRET },
      headers: {
        authorization: `Bearer ${SECRET}`,
        'proxy-authorization': `Basic ${SECRET}`,
        cookie: SECRET,
      },
      req: { headers: { 'set-cookie': [SECRET], 'proxy-authorization': SECRET } },
    });
    const shapes = lines.at(-1) as Record<string, Record<string, unknown>>;
    expect(shapes.credential?.username).toBe('US1');
    expect(shapes.headers?.authorization).toBe('[redacted]');
    // Bindings of a child logger are redacted too.
    log.child({ token: SECRET }).info('child');
    expect(lines.at(-1)?.token).toBe('[redacted]');
    expect(raw.join('')).not.toContain(SECRET);
  });

  it('drop key material pasted into any string field or an error message', () => {
    const { log, lines, raw } = capture();
    log.warn('a parser complained', { reason: `cannot read ${PEM}`, certificate_id: 'c-1' });
    log.error('upload failed', { err: new Error(`bad key ${PEM}`) });
    expect(lines[0]).toMatchObject({ reason: '[redacted]', certificate_id: 'c-1' });
    expect(lines[1]?.err).toMatchObject({ message: '[redacted]' });
    expect(raw.join('')).not.toContain(SECRET);
    expect(raw.join('')).not.toContain('PRIVATE KEY');
  });
});

describe('the log stream of a running vaultgate', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('holds every request line, as JSON, when SIGTERM comes right after the last answer', async () => {
    const root = makeCa({ cn: 'Logger Stream Root' });
    const upstream = await startUpstream({
      server: makeLeaf({
        issuer: root,
        cn: 'localhost',
        eku: ['serverAuth'],
        sans: ['DNS:localhost', 'IP:127.0.0.1'],
      }),
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'vaultgate-logs-'));
    dirs.push(dataDir);
    // Two workers and the control plane write to one stdout pipe at the same moment.
    const vg = await startProcess(dataDir, { VAULTGATE_WORKERS: '2', VAULTGATE_LOG_LEVEL: 'info' });
    const closed = new Promise<number | null>((resolve) => vg.child.once('close', (code) => resolve(code)));
    try {
      const { token, inboundHost, localCa } = await inboundVaultTo(vg, dataDir, {
        name: 'logs',
        upstream: upstream.url.origin,
        caPem: root.certPem,
      });

      // 300 requests, 30 at a time on their own connections (both workers take some), with a long
      // field so that lines pile up in the buffers; SIGTERM as soon as the last answer is in.
      const ids: string[] = [];
      for (let round = 0; round < 10; round++) {
        const answers = await Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            inboundRequest(vg.ports.inbound, localCa, inboundHost, { path: `/r/${round}/${i}` }),
          ),
        );
        for (const a of answers) {
          expect(a.status).toBe(200);
          ids.push(String(a.headers['x-request-id']));
        }
      }
      vg.child.kill('SIGTERM');
      expect(await closed).toBe(0);

      const stdout = vg.stdout();
      const lines = stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => {
          expect(() => JSON.parse(l), l).not.toThrow();
          return JSON.parse(l) as Line;
        });
      const logged = lines.filter((l) => l.msg === 'inbound request').map((l) => l.request_id);
      expect(new Set(ids).size).toBe(300);
      expect(logged.sort()).toEqual([...ids].sort());
      // Both workers wrote, and the control plane's own last line is there too.
      expect(new Set(lines.filter((l) => l.msg === 'inbound request').map((l) => l.worker))).toEqual(
        new Set([1, 2]),
      );
      expect(lines.some((l) => l.msg === 'shutting down' && l.signal === 'SIGTERM')).toBe(true);
      expect(lines.every((l) => typeof l.level === 'string' && typeof l.time === 'string')).toBe(true);
      // The banner (with the admin token) is human text on stderr, never in the JSON stream.
      expect(stdout).not.toContain('vaultgate is running');
      expect(stdout).not.toContain(token);
      expect(vg.output()).toContain('vaultgate is running');
    } finally {
      try {
        vg.child.kill('SIGKILL');
      } catch {
        // already gone
      }
      await upstream.close();
    }
  }, 60_000);
});

describe('a stdout that nobody reads', () => {
  it('holds at most 32 MiB of lines, then drops and counts them in a warning once it drains', async () => {
    const logger = join(MAIN, '..', 'observability', 'logger.js');
    const total = 150_000; // about 45 MB of lines, logged in one go, while the pipe is not read
    const script = `
      const { createLogger, flushLogs } = await import(${JSON.stringify(logger)});
      const log = createLogger('info', { worker: 1 });
      const pad = 'x'.repeat(200);
      for (let i = 0; i < ${total}; i++) log.info('line', { i, pad });
      process.stderr.write('logged\\n');
      await flushLogs(60_000);
      await flushLogs(60_000);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.pause();
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const closed = new Promise<number | null>((resolve) => child.once('close', resolve));
    await new Promise<void>((resolve) =>
      child.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('logged')) resolve();
      }),
    );
    child.stdout.resume();
    expect(await closed, stderr).toBe(0);
    const lines = stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
    const written = lines.filter((l) => l.msg === 'line');
    const warning = lines.at(-1);
    expect(warning?.level).toBe('warn');
    expect(String(warning?.msg)).toMatch(/^log lines were dropped/);
    expect(Number(warning?.dropped)).toBeGreaterThan(0);
    // Every line is either written, in order and whole, or counted as dropped.
    expect(written.length + Number(warning?.dropped)).toBe(total);
    expect(written.map((l) => l.i)).toEqual(Array.from({ length: written.length }, (_, i) => i));
    expect(stdout.length).toBeLessThan(33 * 1024 * 1024 + 64 * 1024);
  }, 60_000);
});
