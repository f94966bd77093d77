import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, describe, expect, it } from 'vitest';
import { knownVariables } from '../src/config/settings.js';
import { makeCa, makeLeaf } from './helpers/pki-fixtures.js';
import { runToExit, startProcess, stopProcess, type RunningProcess } from './helpers/process.js';

/**
 * Issue 13, "listener exposure" and "sessions": real vaultgate processes, real sockets. Linux routes
 * all of 127.0.0.0/8 to loopback, so 127.0.0.2 stands in for "the network-facing address".
 */

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vaultgate-listeners-'));
  dirs.push(dir);
  return dir;
}
const running: RunningProcess[] = [];
afterAll(() => {
  for (const p of running) if (p.child.exitCode === null) p.child.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function start(dataDir: string, env: Record<string, string> = {}): Promise<RunningProcess> {
  const p = await startProcess(dataDir, env);
  running.push(p);
  return p;
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** One request over http or https (with `ca` trusted), on a fresh connection. */
function call(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string; ca?: string } = {},
): Promise<Answer> {
  const target = new URL(url);
  const lib = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request(
      target,
      { method: options.method ?? 'GET', headers: options.headers, ca: options.ca, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

async function signIn(base: string, token: string, ca?: string): Promise<Answer & { cookie: string }> {
  const answer = await call(`${base}/api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token }),
    ca,
  });
  const setCookie = answer.headers['set-cookie']?.[0] ?? '';
  return { ...answer, cookie: setCookie.split(';')[0] ?? '' };
}

describe('per-listener addresses', () => {
  it('keeps the API on loopback while the inbound proxy listens on another address', async () => {
    const vg = await start(tempDir(), {
      VAULTGATE_ADMIN_HOST: '127.0.0.1',
      VAULTGATE_INBOUND_HOST: '127.0.0.2',
      VAULTGATE_OUTBOUND_HOST: '127.0.0.2',
    });
    const { admin, inbound, outbound, outbound_tls } = vg.ports;
    expect(await accepts('127.0.0.1', admin)).toBe(true);
    expect(await accepts('127.0.0.2', admin)).toBe(false);
    expect(await accepts('127.0.0.2', inbound)).toBe(true);
    expect(await accepts('127.0.0.1', inbound)).toBe(false);
    // The outbound proxy follows VAULTGATE_OUTBOUND_HOST, over TLS too.
    expect(await accepts('127.0.0.2', outbound)).toBe(true);
    expect(await accepts('127.0.0.1', outbound)).toBe(false);
    expect(await accepts('127.0.0.2', outbound_tls)).toBe(true);
    expect(await accepts('127.0.0.1', outbound_tls)).toBe(false);
    // The inbound listener on 127.0.0.2 really serves TLS (not merely a bound socket).
    const alpn = await new Promise<string>((resolve, reject) => {
      const socket = tls.connect({
        host: '127.0.0.2',
        port: inbound,
        servername: 'localhost',
        rejectUnauthorized: false,
      });
      socket.once('secureConnect', () => {
        resolve(socket.getProtocol() ?? '');
        socket.destroy();
      });
      socket.once('error', reject);
    });
    expect(alpn).toMatch(/^TLS/);
    expect(vg.output()).toContain(`Dashboard and API   http://127.0.0.1:${admin}/`);
    expect(vg.output()).toMatch(
      new RegExp(`HTTPS_PROXY=http://US\\w+:[0-9a-f-]+@127\\.0\\.0\\.2:${outbound}`),
    );
    expect(vg.output()).toContain(`inbound 127.0.0.2:${inbound}`);
    expect(vg.output()).toContain(`outbound TLS 127.0.0.2:${outbound_tls}`);
    await stopProcess(vg);
  });
});

describe('HTTPS for the management API', () => {
  const root = makeCa({ cn: 'Admin TLS Test Root' });
  const leaf = makeLeaf({
    issuer: root,
    cn: 'localhost',
    eku: ['serverAuth'],
    sans: ['DNS:localhost', 'IP:127.0.0.1'],
  });
  const files = (dir: string) => {
    writeFileSync(join(dir, 'admin.crt'), leaf.certPem);
    writeFileSync(join(dir, 'admin.key'), leaf.keyPem);
    return {
      VAULTGATE_ADMIN_TLS_CERT_FILE: join(dir, 'admin.crt'),
      VAULTGATE_ADMIN_TLS_KEY_FILE: join(dir, 'admin.key'),
    };
  };

  it('serves the API and dashboard over HTTPS only, with a Secure session cookie', async () => {
    const dataDir = tempDir();
    const token = `vgadm_${randomBytes(16).toString('hex')}`;
    const vg = await start(dataDir, { ...files(tempDir()), VAULTGATE_ADMIN_TOKEN: token });
    const base = `https://127.0.0.1:${vg.ports.admin}`;
    expect(vg.output()).toContain(`Dashboard and API   ${base}/`);

    const vaults = await call(`${base}/api/v1/vaults`, {
      headers: { authorization: `Bearer ${token}` },
      ca: root.certPem,
    });
    expect(vaults.status).toBe(200);
    const dashboard = await call(`${base}/`, { ca: root.certPem });
    expect(dashboard.status).toBe(200);
    expect(dashboard.headers['content-type']).toMatch(/^text\/html/);

    // Plain HTTP on the same port gets no answer at all: the TLS server drops what is not a handshake.
    await expect(call(`http://127.0.0.1:${vg.ports.admin}/healthz`)).rejects.toThrow();
    await expect(
      call(`http://127.0.0.1:${vg.ports.admin}/api/v1/vaults`, {
        headers: { authorization: `Bearer ${token}` },
      }),
    ).rejects.toThrow();

    // Secure even though no X-Forwarded-Proto says so: the listener itself is HTTPS.
    const session = await signIn(base, token, root.certPem);
    expect(session.status).toBe(201);
    expect(session.headers['set-cookie']?.[0]).toMatch(/; HttpOnly; SameSite=Strict; Max-Age=28800; Secure$/);
    const out = await call(`${base}/api/v1/session`, {
      method: 'DELETE',
      headers: { cookie: session.cookie },
      ca: root.certPem,
    });
    expect(out.headers['set-cookie']?.[0]).toMatch(/; Secure$/);
    await stopProcess(vg);
  });

  it('refuses to start, naming the setting, when the files are missing, not PEM or do not match', async () => {
    const dir = tempDir();
    const good = files(dir);
    const other = makeLeaf({ cn: 'other.example', keyType: 'p384', eku: ['serverAuth'] });
    writeFileSync(join(dir, 'other.key'), other.keyPem);
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate\n');
    const cases: [Record<string, string>, RegExp][] = [
      [
        { ...good, VAULTGATE_ADMIN_TLS_CERT_FILE: join(dir, 'missing.crt') },
        /VAULTGATE_ADMIN_TLS_CERT_FILE cannot be read \(ENOENT\)/,
      ],
      [
        { ...good, VAULTGATE_ADMIN_TLS_KEY_FILE: join(dir, 'missing.key') },
        /VAULTGATE_ADMIN_TLS_KEY_FILE cannot be read \(ENOENT\)/,
      ],
      [
        { ...good, VAULTGATE_ADMIN_TLS_CERT_FILE: join(dir, 'junk.pem') },
        /VAULTGATE_ADMIN_TLS_CERT_FILE must hold a PEM certificate/,
      ],
      [
        { ...good, VAULTGATE_ADMIN_TLS_KEY_FILE: join(dir, 'other.key') },
        /VAULTGATE_ADMIN_TLS_CERT_FILE and VAULTGATE_ADMIN_TLS_KEY_FILE are not a usable certificate and key/,
      ],
      [
        { VAULTGATE_ADMIN_TLS_CERT_FILE: good.VAULTGATE_ADMIN_TLS_CERT_FILE },
        /VAULTGATE_ADMIN_TLS_KEY_FILE must be set too/,
      ],
    ];
    for (const [env, message] of cases) {
      const dataDir = tempDir();
      const { code, output } = await runToExit({ VAULTGATE_DATA_DIR: dataDir, ...env });
      expect(code, output).toBe(2);
      expect(output).toMatch(message);
      expect(output.trim().split('\n')).toHaveLength(1);
      expect(output).not.toContain('PRIVATE KEY');
      // Refused before anything was created.
      expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    }
  });
});

describe('secrets come from the environment or a file, never from a flag', () => {
  it('reads VAULTGATE_ADMIN_TOKEN_FILE and VAULTGATE_MASTER_KEY_FILE, ignoring the trailing newline', async () => {
    const secretsDir = tempDir();
    const token = `vgadm_${randomBytes(16).toString('hex')}`;
    const key = randomBytes(32).toString('base64');
    writeFileSync(join(secretsDir, 'token'), `${token}\n`, { mode: 0o600 });
    writeFileSync(join(secretsDir, 'key'), `${key}\n`, { mode: 0o600 });
    const dataDir = tempDir();
    const env = {
      VAULTGATE_ADMIN_TOKEN_FILE: join(secretsDir, 'token'),
      VAULTGATE_MASTER_KEY_FILE: join(secretsDir, 'key'),
      // The command-line client's own variables are known, not refused.
      VAULTGATE_URL: 'http://127.0.0.1:9000',
      VAULTGATE_TOKEN: 'for-the-cli',
      VAULTGATE_CA_FILE: '/nonexistent/ca.pem',
    };
    const vg = await start(dataDir, env);
    const ok = await call(`http://127.0.0.1:${vg.ports.admin}/api/v1/vaults`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(ok.status).toBe(200);
    // Nothing was generated into the data dir: both secrets came from the files.
    expect(readdirSync(dataDir)).not.toContain('master.key');
    expect(readdirSync(dataDir)).not.toContain('admin-token');
    expect(vg.output()).not.toContain(token);
    await stopProcess(vg);
    // The key from the file is the one that sealed the data: the same key given directly opens it.
    const again = await start(dataDir, { VAULTGATE_MASTER_KEY: key, VAULTGATE_ADMIN_TOKEN: token });
    await stopProcess(again);
  });

  it('refuses a secret given both ways, and an empty or unreadable file, naming the settings', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'token'), `vgadm_${randomBytes(16).toString('hex')}\n`);
    writeFileSync(join(dir, 'empty'), '\n');
    const cases: [Record<string, string>, RegExp][] = [
      [
        { VAULTGATE_ADMIN_TOKEN: 'x'.repeat(20), VAULTGATE_ADMIN_TOKEN_FILE: join(dir, 'token') },
        /Set either VAULTGATE_ADMIN_TOKEN or VAULTGATE_ADMIN_TOKEN_FILE, not both/,
      ],
      [
        {
          VAULTGATE_MASTER_KEY: randomBytes(32).toString('base64'),
          VAULTGATE_MASTER_KEY_FILE: join(dir, 'token'),
        },
        /Set either VAULTGATE_MASTER_KEY or VAULTGATE_MASTER_KEY_FILE, not both/,
      ],
      [{ VAULTGATE_ADMIN_TOKEN_FILE: join(dir, 'empty') }, /VAULTGATE_ADMIN_TOKEN_FILE names an empty file/],
      [
        { VAULTGATE_MASTER_KEY_FILE: join(dir, 'nope') },
        /VAULTGATE_MASTER_KEY_FILE cannot be read \(ENOENT\)/,
      ],
      [
        { VAULTGATE_MASTER_KEY_FILE: join(dir, 'token') },
        /VAULTGATE_MASTER_KEY_FILE must name a file holding the base64 of exactly 32/,
      ],
    ];
    for (const [env, message] of cases) {
      const { code, output } = await runToExit({ VAULTGATE_DATA_DIR: tempDir(), ...env });
      expect(code, output).toBe(2);
      expect(output).toMatch(message);
      expect(output.trim().split('\n')).toHaveLength(1);
    }
  });

  it('refuses --master-key and --admin-token, naming the environment and file alternatives', async () => {
    const key = randomBytes(32).toString('base64');
    const token = `vgadm_${randomBytes(16).toString('hex')}`;
    const cases: [string[], RegExp, string][] = [
      [
        ['--master-key', key],
        /--master-key is refused.*VAULTGATE_MASTER_KEY or VAULTGATE_MASTER_KEY_FILE/,
        key,
      ],
      [
        [`--admin-token=${token}`],
        /--admin-token is refused.*VAULTGATE_ADMIN_TOKEN or VAULTGATE_ADMIN_TOKEN_FILE/,
        token,
      ],
    ];
    for (const [args, message, secret] of cases) {
      const dataDir = tempDir();
      const { code, output } = await runToExit({ VAULTGATE_DATA_DIR: dataDir }, args);
      expect(code, output).toBe(2);
      expect(output).toMatch(message);
      expect(output).not.toContain(secret);
      expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    }
  });
});

describe('unknown VAULTGATE_* variables', () => {
  it('refuses to start, naming the variable and the setting it resembles', async () => {
    const dataDir = tempDir();
    const typo = await runToExit({ VAULTGATE_DATA_DIR: dataDir, VAULTGATE_ADMN_PORT: '9999' });
    expect(typo.code, typo.output).toBe(2);
    expect(typo.output).toMatch(
      /Unknown environment variable VAULTGATE_ADMN_PORT \(did you mean VAULTGATE_ADMIN_PORT\?\)/,
    );
    expect(typo.output.trim().split('\n')).toHaveLength(1);
    expect(existsSync(join(dataDir, 'master.key'))).toBe(false);
    const far = await runToExit({ VAULTGATE_DATA_DIR: tempDir(), VAULTGATE_SOMETHING_ELSE_ENTIRELY: '1' });
    expect(far.code).toBe(2);
    expect(far.output).toMatch(/Unknown environment variable VAULTGATE_SOMETHING_ELSE_ENTIRELY;/);
    expect(far.output).not.toMatch(/did you mean/);
  });

  it('knows every VAULTGATE_* name the repository itself uses', () => {
    // The test suite, benchmarks and reliability runs start vaultgate with the caller's environment:
    // a name used anywhere here but unknown to the check would refuse those starts.
    const root = join(import.meta.dirname, '..');
    const found = new Set<string>();
    const walk = (dir: string): void => {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        if (['node_modules', 'dist', '.git', 'data', 'results'].includes(entry.name)) continue;
        const path = join(dir, entry.name);
        if (entry.isDirectory()) walk(path);
        else if (/\.(ts|js|json|md|sh|yml|yaml)$|^run$/.test(entry.name))
          for (const m of readFileSync(path, 'utf8').matchAll(/\bVAULTGATE_[A-Z0-9_]*[A-Z0-9]\b/g))
            found.add(m[0]);
      }
    };
    for (const top of ['src', 'test', 'bench', 'reliability', 'scripts', '.ci', 'docs', 'README.md']) {
      const path = join(root, top);
      if (!existsSync(path)) continue;
      if (top.endsWith('.md')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/\bVAULTGATE_[A-Z0-9_]*[A-Z0-9]\b/g))
          found.add(m[0]);
      } else walk(path);
    }
    // Identifiers in code, and the typos this very file uses on purpose.
    const notVariables = new Set([
      'VAULTGATE_MAIN',
      'VAULTGATE_ADMN_PORT',
      'VAULTGATE_SOMETHING_ELSE_ENTIRELY',
    ]);
    const known = knownVariables();
    const unknown = [...found].filter((name) => !known.has(name) && !notVariables.has(name));
    expect(unknown).toEqual([]);
  });
});

describe('dashboard sessions end on the server', () => {
  it('refuses a cookie after sign-out and after the admin token changed, not after a plain restart', async () => {
    const dataDir = tempDir();
    const tokenA = `vgadm_${randomBytes(16).toString('hex')}`;
    const tokenB = `vgadm_${randomBytes(16).toString('hex')}`;
    let vg = await start(dataDir, { VAULTGATE_ADMIN_TOKEN: tokenA });
    let base = `http://127.0.0.1:${vg.ports.admin}`;
    const list = (cookie: string) =>
      call(`${base}/api/v1/vaults`, { headers: { cookie } }).then((a) => a.status);

    const refused = await signIn(base, 'not-the-token-at-all');
    expect(refused.status).toBe(401);
    const first = await signIn(base, tokenA);
    const second = await signIn(base, tokenA);
    expect([first.status, second.status]).toEqual([201, 201]);
    expect(await list(first.cookie)).toBe(200);
    expect(await list(second.cookie)).toBe(200);

    // Sign-out ends that session on the server: the same cookie, replayed, is refused.
    const out = await call(`${base}/api/v1/session`, { method: 'DELETE', headers: { cookie: first.cookie } });
    expect(out.status).toBe(204);
    expect(await list(first.cookie)).toBe(401);
    const csrf = (JSON.parse(first.body) as { data: { csrf_token: string } }).data.csrf_token;
    const write = await call(`${base}/api/v1/vaults`, {
      method: 'POST',
      headers: { cookie: first.cookie, 'x-csrf-token': csrf, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'after sign-out', environment: 'sandbox' }),
    });
    expect(write.status).toBe(401);
    expect(await list(second.cookie)).toBe(200);

    // Sign-ins, failed ones and sign-outs are audit events with the client address, never the token.
    const audit = await call(`${base}/api/v1/audit-events`, {
      headers: { authorization: `Bearer ${tokenA}` },
    });
    const events = (
      JSON.parse(audit.body) as { data: { action: string; client_address: string; actor: string }[] }
    ).data;
    const actions = events.map((e) => e.action);
    expect(actions.filter((a) => a === 'session.signed_in')).toHaveLength(2);
    expect(actions).toContain('session.sign_in_failed');
    expect(actions).toContain('session.signed_out');
    for (const e of events.filter((e) => e.action.startsWith('session.')))
      expect(e.client_address).toBe('127.0.0.1');
    expect(audit.body).not.toContain(tokenA);
    expect(audit.body).not.toContain('not-the-token-at-all');
    expect(audit.body).not.toContain(second.cookie.split('=')[1]);

    // A restart with the same token keeps the session; one with another token ends it.
    await stopProcess(vg);
    vg = await start(dataDir, { VAULTGATE_ADMIN_TOKEN: tokenA });
    base = `http://127.0.0.1:${vg.ports.admin}`;
    expect(await list(second.cookie)).toBe(200);
    await stopProcess(vg);
    vg = await start(dataDir, { VAULTGATE_ADMIN_TOKEN: tokenB });
    base = `http://127.0.0.1:${vg.ports.admin}`;
    expect(await list(second.cookie)).toBe(401);
    const again = await signIn(base, tokenB);
    expect(await list(again.cookie)).toBe(200);
    await stopProcess(vg);
  });
});
