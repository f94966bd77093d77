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
