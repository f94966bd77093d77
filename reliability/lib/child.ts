/**
 * vaultgate as a child process, the way an operator runs it: the compiled entry point, a data dir,
 * environment variables. Everything it prints (minus the start-up banner) and every management API
 * answer goes into the run's evidence for the secrets scan.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import type { Evidence } from './evidence.js';

export interface Ports {
  admin: number;
  inbound: number;
  outbound: number;
  outbound_tls: number;
}

/** The repository root: the nearest directory above this file holding package.json (works from dist/ too). */
export function repoRoot(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('package.json not found above ' + import.meta.dirname);
    dir = up;
  }
  return dir;
}

export const MAIN = join(repoRoot(), 'dist/src/main.js');

/** Four free loopback ports, so that a restarted process comes back on the same ones. */
export async function freePorts(): Promise<Ports> {
  const take = async (): Promise<{ port: number; server: net.Server }> => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, server };
  };
  const held = [await take(), await take(), await take(), await take()];
  await Promise.all(held.map((h) => new Promise<void>((resolve) => h.server.close(() => resolve()))));
  const [admin, inbound, outbound, outboundTls] = held.map((h) => h.port) as [number, number, number, number];
  return { admin, inbound, outbound, outbound_tls: outboundTls };
}

export interface ApiAnswer {
  status: number;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the harness reads arbitrary JSON answers
  json: any;
}

export interface StartOptions {
  dataDir: string;
  /** Label in logs and evidence. */
  name: string;
  evidence: Evidence;
  ports?: Ports;
  env?: Record<string, string>;
  /** How long to wait for the banner. */
  timeoutMs?: number;
}

/** Children still running, so an interrupted run does not leave them behind. */
const live = new Set<ChildProcess>();

export function killAllChildren(): void {
  for (const child of live) child.kill('SIGKILL');
}

export class VaultgateChild {
  #output = '';
  #flushed = false;
  readonly exited: Promise<number | null>;
  ports: Ports = { admin: 0, inbound: 0, outbound: 0, outbound_tls: 0 };
  adminToken = '';

  private constructor(
    readonly child: ChildProcess,
    readonly options: StartOptions,
  ) {
    child.stdout?.on('data', (d: Buffer) => (this.#output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (this.#output += d.toString()));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        this.#flush();
        resolve(signal === null ? code : null);
      }),
    );
  }

  /** Spawns the process and resolves once its banner is printed (ports listening). */
  static async start(options: StartOptions): Promise<VaultgateChild> {
    const fixed = options.ports;
    const env: Record<string, string> = {
      VAULTGATE_DATA_DIR: options.dataDir,
      VAULTGATE_ADMIN_PORT: String(fixed?.admin ?? 0),
      VAULTGATE_INBOUND_PORT: String(fixed?.inbound ?? 0),
      VAULTGATE_OUTBOUND_PORT: String(fixed?.outbound ?? 0),
      VAULTGATE_OUTBOUND_TLS_PORT: String(fixed?.outbound_tls ?? 0),
      ...options.env,
    };
    const child = spawn(process.execPath, [MAIN], { env: { ...process.env, ...env }, stdio: 'pipe' });
    live.add(child);
    child.once('exit', () => live.delete(child));
    const vg = new VaultgateChild(child, options);
    await vg.waitForBanner(options.timeoutMs ?? 20_000);
    options.evidence.addDataDir(options.name, options.dataDir);
    vg.ports = JSON.parse(readFileSync(join(options.dataDir, 'ports.json'), 'utf8')) as Ports;
    vg.adminToken = readFileSync(join(options.dataDir, 'admin-token'), 'utf8').trim();
    options.evidence.addAdminToken(`${options.name} admin token`, vg.adminToken);
    const password = /HTTPS_PROXY=http:\/\/(US\w+):([0-9a-f-]{36})@/.exec(vg.#output);
    if (password)
      options.evidence.addPassword(`${options.name} default credential`, password[2] as string, password[1]);
    return vg;
  }

  private async waitForBanner(timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    while (!this.#output.includes('vaultgate is running')) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`vaultgate exited during start-up: ${this.#output.slice(-2000)}`);
      if (Date.now() > until) {
        this.child.kill('SIGKILL');
        throw new Error(`vaultgate did not start within ${timeoutMs} ms: ${this.#output.slice(-2000)}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  get pid(): number {
    return this.child.pid ?? 0;
  }

  output(): string {
    return this.#output;
  }

  #flush(): void {
    if (this.#flushed) return;
    this.#flushed = true;
    this.options.evidence.addText('child process output', this.#output);
  }

  /** Management API call with the admin token; the answer is kept as evidence. */
  async api(method: string, path: string, body?: unknown, timeoutMs = 10_000): Promise<ApiAnswer> {
    const res = await fetch(`http://127.0.0.1:${this.ports.admin}/api/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${this.adminToken}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let json: { data?: { password?: unknown } } | undefined;
    try {
      json = text === '' ? undefined : (JSON.parse(text) as typeof json);
    } catch {
      json = undefined;
    }
    // SPEC §2: a credential's password is in the answer that creates it and nowhere else; that one
    // occurrence is by design, so it is blanked before the answer joins the evidence.
    const password = json?.data?.password;
    const evidence = typeof password === 'string' ? text.split(password).join('[password shown once]') : text;
    this.options.evidence.addText('management API response', evidence);
    return { status: res.status, text, json };
  }

  /** The API call that must succeed with `status`; throws with the answer otherwise. */
  async must(method: string, path: string, body: unknown, status: number): Promise<ApiAnswer> {
    const res = await this.api(method, path, body);
    if (res.status !== status) throw new Error(`${method} ${path}: ${res.status} ${res.text.slice(0, 500)}`);
    return res;
  }

  /** GET /metrics, kept as evidence. */
  async metrics(): Promise<string> {
    const res = await fetch(`http://127.0.0.1:${this.ports.admin}/metrics`, {
      headers: { authorization: `Bearer ${this.adminToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    this.options.evidence.addText('/metrics', text);
    return text;
  }

  /**
   * Resident set size in bytes and open file descriptors, from /proc, summed over vaultgate's
   * process tree: the control plane and its data-plane workers, where proxy traffic is served.
   */
  resources(): { rssBytes: number; fds: number } {
    let rssBytes = 0;
    let fds = 0;
    for (const pid of processTree(this.pid)) {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        rssBytes += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) * 1024;
        fds += readdirSync(`/proc/${pid}/fd`).length;
      } catch {
        // The process exited between the listing and the read (a worker being replaced).
      }
    }
    return { rssBytes, fds };
  }

  /** Sends a signal and waits (bounded) for the exit code; SIGKILLs if it does not come. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 15_000): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** kill -9 and wait until the process is gone. */
  async crash(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** `root` and all its descendants, from the parent ids in /proc/<pid>/stat. */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) is in parentheses and may hold spaces: parse after the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // Gone already.
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}
