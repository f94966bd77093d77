/**
 * vaultgate as a system under test: the real entry point (`dist/src/main.js`) as a child process —
 * control plane and, where the build has them, its data-plane worker processes (SPEC §1a) —
 * configured through the management API like a user would (SPEC §2). `VAULTGATE_WORKERS` is passed
 * through; the worker count reported is the one observed in the process tree, so a build that does
 * not fork workers yet shows as one process whatever was asked.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchPki } from '../lib/pki.js';
import { processTree, sleep, startPinned, type Started } from '../lib/proc.js';
import type { StartOptions, SystemHandle } from './types.js';

/** dist/bench/systems → dist/src/main.js */
export const VAULTGATE_MAIN = join(import.meta.dirname, '../../src/main.js');
const TOKEN = 'bench-admin-token-0123456789abcdef';

/**
 * Node flags that make a process (and the workers it forks: cluster.fork and child_process.fork
 * inherit execArgv) write a V8 CPU profile on exit. Node 20 refuses --cpu-prof in NODE_OPTIONS, so
 * these go on the command line.
 */
export function profileArgs(dir: string | undefined): string[] {
  return dir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

export interface VaultgateProcess {
  started: Started;
  ports: { admin: number; inbound: number; outbound: number; outbound_tls: number };
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  /** ms from spawn until /readyz answered 200. */
  startMs: number;
}

/**
 * Starts vaultgate on free ports with `dataDir` and `workers` data-plane workers and waits until it is
 * ready.
 */
export async function spawnVaultgate(
  dataDir: string,
  caFile: string,
  cpus: string | undefined,
  extra: { workers: number; profileDir?: string | undefined; env?: Record<string, string> },
): Promise<VaultgateProcess> {
  if (!existsSync(VAULTGATE_MAIN)) throw new Error(`${VAULTGATE_MAIN} is missing: run npm run build first`);
  mkdirSync(dataDir, { recursive: true });
  const t0 = performance.now();
  const started = startPinned(process.execPath, [...profileArgs(extra.profileDir), VAULTGATE_MAIN], {
    cpus,
    env: {
      ...process.env,
      VAULTGATE_WORKERS: String(extra.workers),
      VAULTGATE_DATA_DIR: dataDir,
      VAULTGATE_ADMIN_PORT: '0',
      VAULTGATE_INBOUND_PORT: '0',
      VAULTGATE_OUTBOUND_PORT: '0',
      VAULTGATE_OUTBOUND_TLS_PORT: '0',
      VAULTGATE_ADMIN_TOKEN: TOKEN,
      VAULTGATE_UPSTREAM_CA_FILE: caFile,
      // The inbound proxy logs one info line per request; the other systems log nothing per request.
      VAULTGATE_LOG_LEVEL: 'warn',
      ...extra.env,
    },
  });
  const portsFile = join(dataDir, 'ports.json');
  let ports: VaultgateProcess['ports'] | undefined;
  for (;;) {
    if (started.child.exitCode !== null) throw new Error(`vaultgate exited: ${started.output()}`);
    if (performance.now() - t0 > 60_000) {
      await started.stop('SIGKILL');
      throw new Error(`vaultgate not ready within 60 s: ${started.output()}`);
    }
    if (ports === undefined && started.output().includes('vaultgate is running') && existsSync(portsFile)) {
      ports = JSON.parse(readFileSync(portsFile, 'utf8')) as VaultgateProcess['ports'];
    }
    if (ports !== undefined) {
      const ok = await fetch(`http://127.0.0.1:${ports.admin}/readyz`).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) break;
    }
    await sleep(10);
  }
  const startMs = performance.now() - t0;
  const admin = ports.admin;
  return {
    started,
    ports,
    startMs,
    async api<T>(method: string, path: string, body?: unknown): Promise<T> {
      const res = await fetch(`http://127.0.0.1:${admin}/api/v1${path}`, {
        method,
        headers: {
          authorization: `Bearer ${TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      if (res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
      if (!(res.headers.get('content-type') ?? '').includes('json')) return text as T;
      return (JSON.parse(text) as { data: T }).data;
    },
  };
}

export interface BenchVault {
  id: string;
  inboundHost: string;
  routeId: string;
  credential: { id: string; username: string; password: string };
  outboundCaPem: string;
}

/** A vault with an inbound route to the upstream and a credential, each with the client certificate. */
export async function configureVault(
  vg: VaultgateProcess,
  pki: BenchPki,
  upstreamPort: number,
): Promise<BenchVault> {
  const vault = await vg.api<{ id: string; inbound_host: string }>('POST', '/vaults', {
    name: 'bench',
    environment: 'sandbox',
  });
  const route = await vg.api<{ id: string }>('POST', `/vaults/${vault.id}/routes`, {
    destination_override_endpoint: `https://127.0.0.1:${upstreamPort}`,
    host_endpoint: '(.*)',
    port: 443,
    protocol: 'http',
    source_endpoint: '*',
    tags: { name: 'bench upstream' },
    entries: [],
    upstream_tls: { ca_pem: pki.caPem, verify: true, servername: 'localhost' },
  });
  await vg.api('POST', `/vaults/${vault.id}/certificates`, {
    proxy_type: 'inbound',
    route_id: route.id,
    description: 'bench client (inbound)',
    certificate: pki.client.certPem,
    private_key: pki.client.keyPem,
  });
  const credential = await vg.api<{ id: string; username: string; password: string }>(
    'POST',
    `/vaults/${vault.id}/credentials`,
    { description: 'bench' },
  );
  await vg.api('POST', `/vaults/${vault.id}/certificates`, {
    proxy_type: 'outbound',
    credential_id: credential.id,
    description: 'bench client (outbound)',
    certificate: pki.client.certPem,
    private_key: pki.client.keyPem,
  });
  const outboundCaPem = await vg.api<string>('GET', `/vaults/${vault.id}/outbound-ca`);
  return { id: vault.id, inboundHost: vault.inbound_host, routeId: route.id, credential, outboundCaPem };
}

/** The data-plane processes of a vaultgate tree: its descendants, or the root itself when it has none. */
export function dataPlanePids(root: number): number[] {
  const tree = processTree(root);
  return tree.length > 1 ? tree.slice(1) : tree;
}

/** How vaultgate runs, as seen in its process tree, for the tables. */
export function describeWorkers(root: number, asked: number): string {
  const tree = processTree(root);
  if (tree.length === 1) return `1 process (VAULTGATE_WORKERS=${asked} not used by this build)`;
  const n = tree.length - 1;
  return `${n} worker${n === 1 ? '' : 's'} + control plane`;
}

export async function startVaultgate(opts: StartOptions): Promise<SystemHandle> {
  const dataDir = join(opts.dir, `vaultgate-${Date.now()}`);
  const vg = await spawnVaultgate(dataDir, opts.pki.caFile, opts.cpus, {
    workers: opts.workers,
    profileDir: opts.profileDir,
  });
  const vault = await configureVault(vg, opts.pki, opts.upstream.port);
  const localCaPem = await vg.api<string>('GET', '/local-ca');
  const pid = vg.started.child.pid as number;
  return {
    name: 'vaultgate',
    workers: describeWorkers(pid, opts.workers),
    pids: () => processTree(pid),
    profileDir: opts.profileDir,
    inbound: { port: vg.ports.inbound, hostHeader: vault.inboundHost, caPem: localCaPem },
    outbound: {
      port: vg.ports.outbound,
      username: vault.credential.username,
      password: vault.credential.password,
      caPem: vault.outboundCaPem,
    },
    stop: () => vg.started.stop(),
  };
}
