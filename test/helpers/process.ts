import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The checkout's root: the nearest folder with a package.json, from wherever this file was compiled to. */
function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`no package.json above ${import.meta.dirname}`);
    dir = up;
  }
  return dir;
}

export const MAIN = join(repoRoot(), 'dist/src/main.js');

export interface RunningProcess {
  child: ChildProcess;
  /** stdout and stderr, interleaved as they arrived. */
  output(): string;
  /** stdout alone: the JSON log stream. */
  stdout(): string;
  ports: { admin: number; inbound: number; outbound: number; outbound_tls: number };
  exited: Promise<number | null>;
}

const FREE_PORTS = {
  VAULTGATE_ADMIN_PORT: '0',
  VAULTGATE_INBOUND_PORT: '0',
  VAULTGATE_OUTBOUND_PORT: '0',
  VAULTGATE_OUTBOUND_TLS_PORT: '0',
};

/** Runs `vaultgate` to completion (for start-up failures): exit code and everything it printed. */
export function runToExit(
  env: Record<string, string>,
  args: string[] = [],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, ...FREE_PORTS, ...env },
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Starts `vaultgate` as a child and waits until its banner is printed and ports.json written. */
export async function startProcess(
  dataDir: string,
  env: Record<string, string> = {},
  /** `processGroup`: in a process group of its own, so a test can signal it and its workers as a terminal or systemd does. */
  options: { processGroup?: boolean } = {},
): Promise<RunningProcess> {
  const child = spawn(process.execPath, [MAIN], {
    env: { ...process.env, ...FREE_PORTS, VAULTGATE_DATA_DIR: dataDir, ...env },
    detached: options.processGroup === true,
  });
  let output = '';
  let stdout = '';
  child.stdout?.on('data', (d: Buffer) => {
    output += d.toString();
    stdout += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = Date.now();
  while (!output.includes('vaultgate is running')) {
    if (child.exitCode !== null) throw new Error(`vaultgate exited with ${child.exitCode}: ${output}`);
    if (Date.now() - started > 20_000) {
      child.kill('SIGKILL');
      throw new Error(`vaultgate did not start within 20 s: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  const portsFile = join(dataDir, 'ports.json');
  if (!existsSync(portsFile)) throw new Error('ports.json was not written');
  return {
    child,
    output: () => output,
    stdout: () => stdout,
    ports: JSON.parse(readFileSync(portsFile, 'utf8')),
    exited,
  };
}

/** Stops a vaultgate started by startProcess as systemd does (SIGTERM); fails unless it drained and exited 0. */
export async function stopProcess(p: RunningProcess): Promise<void> {
  p.child.kill('SIGTERM');
  const code = await p.exited;
  if (code !== 0) throw new Error(`vaultgate exited with ${code} after SIGTERM, not 0:\n${p.output()}`);
}

/**
 * Through the management API of a vaultgate started by startProcess (admin token from its data
 * dir): a new sandbox vault whose inbound route forwards every host to `upstream`, trusting `caPem`.
 * Returns the vault's inbound host and the local CA that signs the inbound listener.
 */
export async function inboundVaultTo(
  vg: RunningProcess,
  dataDir: string,
  options: { name: string; upstream: string; caPem: string },
): Promise<{ token: string; inboundHost: string; localCa: string }> {
  const token = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  const admin = `http://127.0.0.1:${vg.ports.admin}/api/v1`;
  const call = async (method: string, path: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${admin}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res;
  };
  const vault = (
    (await (await call('POST', '/vaults', { name: options.name, environment: 'sandbox' })).json()) as {
      data: Record<string, string>;
    }
  ).data;
  await call('POST', `/vaults/${vault['id']}/routes`, {
    destination_override_endpoint: options.upstream,
    host_endpoint: '(.*)',
    upstream_tls: { ca_pem: options.caPem },
  });
  const localCa = await (await call('GET', '/local-ca')).text();
  return { token, inboundHost: vault['inbound_host'] ?? '', localCa };
}
