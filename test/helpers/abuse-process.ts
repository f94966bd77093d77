/**
 * vaultgate as a child process for the reliability scenarios and their tests: a known admin token,
 * the default vault's credential read from the banner, an API caller, and the process's open file
 * descriptors counted from /proc (Linux), the figure a leak shows up in.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Evidence } from '../../reliability/lib/evidence.js';
import type { RunningProcess } from './process.js';

/**
 * The compiled entry point: this file runs from test/helpers (vitest; dist/ is built by the global
 * setup) or compiled into dist/test/helpers (npm run test:reliability), next to dist/src.
 */
const MAIN = [
  join(import.meta.dirname, '../../dist/src/main.js'),
  join(import.meta.dirname, '../../src/main.js'),
].find((file) => existsSync(file));

/** Spawns vaultgate on free ports and waits for its banner (at most 20 s). */
async function spawnVaultgate(dataDir: string, env: Record<string, string>): Promise<RunningProcess> {
  if (MAIN === undefined) throw new Error('dist/src/main.js is missing: build first (npm run build)');
  const child = spawn(process.execPath, [MAIN], {
    env: {
      ...process.env,
      VAULTGATE_ADMIN_PORT: '0',
      VAULTGATE_INBOUND_PORT: '0',
      VAULTGATE_OUTBOUND_PORT: '0',
      VAULTGATE_OUTBOUND_TLS_PORT: '0',
      VAULTGATE_DATA_DIR: dataDir,
      ...env,
    },
  });
  let output = '';
  let stdout = '';
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString();
    stdout += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const until = Date.now() + 20_000;
  while (!output.includes('vaultgate is running')) {
    if (child.exitCode !== null) throw new Error(`vaultgate exited with ${child.exitCode}: ${output}`);
    if (Date.now() > until) {
      child.kill('SIGKILL');
      throw new Error(`vaultgate did not start within 20 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const ports = JSON.parse(readFileSync(join(dataDir, 'ports.json'), 'utf8')) as RunningProcess['ports'];
  return { child, output: () => output, stdout: () => stdout, ports, exited };
}

export interface VaultgateProcess {
  proc: RunningProcess;
  pid: number;
  token: string;
  adminUrl: string;
  /** The default vault and its access credential (from the first-start banner). */
  vaultId: string;
  credential: { username: string; password: string };
  /** PEM of the local CA that signs the inbound and outbound-TLS listener certificates. */
  localCa: string;
  api(method: string, path: string, body?: unknown): Promise<{ status: number; json: unknown; text: string }>;
  /** Open file descriptors of the process right now. */
  fds(): number;
  alive(): boolean;
  stop(): Promise<void>;
}

export const ADMIN_TOKEN = 'reliability-admin-token-0123456789';

/**
 * `evidence` (from the reliability runner) is given the admin token and credential password, and at
 * stop everything the process printed and its data dir, for the secrets scan.
 */
export async function startVaultgateProcess(
  env: Record<string, string> = {},
  evidence?: Evidence,
): Promise<VaultgateProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'vaultgate-reliability-'));
  const proc = await spawnVaultgate(dataDir, {
    VAULTGATE_ADMIN_TOKEN: ADMIN_TOKEN,
    VAULTGATE_LOG_LEVEL: 'warn',
    ...env,
  });
  const banner = proc.output();
  const cred = /HTTPS_PROXY=http:\/\/([^:\s]+):([^@\s]+)@/.exec(banner);
  const vault = /Default vault\s+(\S+)/.exec(banner);
  if (cred === null || vault === null) throw new Error(`no credential in the banner:\n${banner}`);
  const adminUrl = `http://127.0.0.1:${proc.ports.admin}`;
  const pid = proc.child.pid as number;
  const api: VaultgateProcess['api'] = async (method, path, body) => {
    const res = await fetch(`${adminUrl}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return { status: res.status, json, text };
  };
  const localCa = (await api('GET', '/local-ca')).text;
  evidence?.addAdminToken('reliability admin token', ADMIN_TOKEN);
  evidence?.addPassword('default vault credential', cred[2] as string, cred[1] as string);
  return {
    proc,
    pid,
    token: ADMIN_TOKEN,
    adminUrl,
    vaultId: vault[1] as string,
    credential: { username: cred[1] as string, password: cred[2] as string },
    localCa,
    api,
    fds: () => readdirSync(`/proc/${pid}/fd`).length,
    alive: () => proc.child.exitCode === null && proc.child.signalCode === null,
    async stop() {
      if (proc.child.exitCode === null && proc.child.signalCode === null) {
        proc.child.kill('SIGTERM');
        const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
        await proc.exited;
        clearTimeout(timer);
      }
      evidence?.addText('vaultgate output', proc.output());
      // With an evidence collector the dir must outlive this call: the secrets scan reads it at the end.
      if (evidence) evidence.addDataDir('vaultgate data dir', dataDir);
      else rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Polls `read` until it is at most `target` or `ms` pass; returns the last value read. */
export async function settle(read: () => number, target: number, ms: number): Promise<number> {
  const until = Date.now() + ms;
  let value = read();
  while (value > target && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    value = read();
  }
  return value;
}
