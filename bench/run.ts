/**
 * `npm run bench` (full, ≤ 20 min), `npm run bench -- --quick` (≤ 4 min), `--smoke` (seconds; npm test).
 *
 * Installs what it needs from Debian (nginx, haproxy, mitmproxy, wrk, hey) unless --no-install, starts
 * an nginx upstream that demands a client certificate, then runs the scenarios of issues 8, 12 and 14 with
 * every system started and stopped here, configs in a temp dir. Results: <out>/latest.json and
 * latest.md, with the CPU other processes used meanwhile (a run on a loaded machine says so).
 *
 * Options: --quick | --smoke, --out DIR (default bench/results), --only name,name, --no-install,
 * --keep (leave the temp dir), --cpu-prof [DIR] (vaultgate — every process of it — and node-reference
 * write V8 CPU profiles under DIR, default <out>/profiles, one sub-directory per run and system
 * start; a self-time summary goes into the results).
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import type { BenchContext, Mode } from './context.js';
import { heyAvailable } from './load/hey.js';
import { buildClientCertShim, wrkAvailable } from './load/wrk.js';
import { cpuMark, foreignLoad } from './lib/machine-load.js';
import { makePki } from './lib/pki.js';
import { summarizeProfiles, type ProfileSummary } from './lib/profile.js';
import { which } from './lib/proc.js';
import { checkTargets, renderMarkdown } from './lib/report.js';
import { round, type BenchResults, type Scenario } from './lib/results.js';
import { runInbound } from './scenarios/inbound.js';
import { runInboundHostnames } from './scenarios/inbound-hostnames.js';
import { runOutboundIntercept } from './scenarios/outbound-intercept.js';
import { runOutboundNewHosts } from './scenarios/outbound-new-hosts.js';
import { runScale } from './scenarios/scale.js';
import { haproxyBinary } from './systems/haproxy.js';
import { mitmdumpBinary } from './systems/mitmproxy.js';
import { nginxBinary, startUpstream } from './upstream.js';

const PROFILES: Record<
  Mode,
  Pick<BenchContext, 'rounds' | 'durationS' | 'warmupS' | 'newHosts' | 'certificates' | 'hostnames'>
> = {
  full: { rounds: 3, durationS: 10, warmupS: 3, newHosts: 1000, certificates: 10_000, hostnames: 1000 },
  quick: { rounds: 3, durationS: 3, warmupS: 1, newHosts: 100, certificates: 1000, hostnames: 1000 },
  smoke: { rounds: 1, durationS: 1, warmupS: 0, newHosts: 5, certificates: 20, hostnames: 20 },
};

const PACKAGES: [string, () => boolean][] = [
  ['nginx', () => nginxBinary() !== null],
  ['haproxy', () => haproxyBinary() !== null],
  ['mitmproxy', () => mitmdumpBinary() !== null],
  ['wrk', wrkAvailable],
  ['hey', heyAvailable],
  // OpenSSL's headers, for the inbound-hostnames client (bench/load/handshake-client.c).
  ['libssl-dev', () => existsSync('/usr/include/openssl/ssl.h')],
];

function installMissing(log: (l: string) => void): void {
  const missing = PACKAGES.filter(([, present]) => !present()).map(([name]) => name);
  if (missing.length === 0) return;
  if (which('apt-get') === null || process.getuid?.() !== 0) {
    log(
      `missing ${missing.join(', ')}; cannot apt-get install here (not root or no apt-get): those systems are skipped`,
    );
    return;
  }
  log(`installing ${missing.join(', ')} from Debian`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  spawnSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
  const res = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], {
    stdio: 'inherit',
    env,
  });
  if (res.status !== 0)
    log(`apt-get install exited ${res.status}; systems whose package is missing are skipped`);
}

function version(cmd: string, args: string[], pattern: RegExp): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  return pattern.exec(`${res.stdout}${res.stderr}`)?.[1] ?? 'unknown';
}

function machine(): BenchResults['machine'] {
  const tools: Record<string, string> = {};
  if (nginxBinary()) tools['nginx'] = version(nginxBinary() as string, ['-v'], /nginx\/(\S+)/);
  if (haproxyBinary()) tools['haproxy'] = version(haproxyBinary() as string, ['-v'], /version (\S+)/);
  if (mitmdumpBinary()) tools['mitmproxy'] = version('mitmdump', ['--version'], /Mitmproxy: (\S+)/);
  if (wrkAvailable()) tools['wrk'] = version('wrk', ['-v'], /wrk (\S+)/);
  // hey prints no version of its own; the Debian package's is the one that matters.
  if (heyAvailable())
    tools['hey'] = version('dpkg-query', ['-W', '-f', '${Version}', 'hey'], /^(\S+)/) ?? 'unknown';
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model.trim() ?? 'unknown',
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    node: process.version,
    openssl: version('openssl', ['version'], /^(OpenSSL \S+)/) ?? process.versions.openssl,
    kernel: os.release(),
    tools,
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const mode: Mode = args.includes('--smoke') ? 'smoke' : args.includes('--quick') ? 'quick' : 'full';
  const value = (flag: string): string | undefined => {
    const i = args.indexOf(flag);
    return i === -1 ? undefined : args[i + 1];
  };
  const outDir = value('--out') ?? join(import.meta.dirname, '../../bench/results');
  const only = value('--only')?.split(',');
  const log = (line: string): void => void process.stdout.write(`${line}\n`);
  const t0 = performance.now();
  const loadBefore = os.loadavg()[0] ?? 0;
  let loadMax = loadBefore;
  const runMark = cpuMark();

  // --cpu-prof takes an optional directory (the next argument, unless it is another option).
  let profileRoot: string | undefined;
  if (args.includes('--cpu-prof')) {
    const next = value('--cpu-prof');
    const base = next !== undefined && !next.startsWith('--') ? next : join(outDir, 'profiles');
    profileRoot = resolve(base, `run-${new Date().toISOString().replace(/[:.]/g, '-')}`);
    mkdirSync(profileRoot, { recursive: true });
    log(`CPU profiles go to ${profileRoot}`);
  }
  let profileCount = 0;
  const profileDir = (label: string): string | undefined => {
    if (profileRoot === undefined) return undefined;
    const dir = join(profileRoot, `${String(++profileCount).padStart(2, '0')}-${label}`);
    mkdirSync(dir, { recursive: true });
    return dir;
  };

  if (!args.includes('--no-install') && mode !== 'smoke') installMissing(log);
  if (nginxBinary() === null) throw new Error('nginx is required (it is the upstream of every scenario)');

  const dir = mkdtempSync(join(os.tmpdir(), 'vaultgate-bench-'));
  const cpus = os.cpus().length;
  // The proxy under test gets CPU 0 to itself; the load generator and the upstream share the rest.
  const proxyCpus = cpus >= 2 ? '0' : undefined;
  const clientCpus = cpus > 2 ? `1-${cpus - 1}` : cpus === 2 ? '1' : undefined;
  const profile = PROFILES[mode];
  const pki = makePki(dir, profile.newHosts);
  const upstream = await startUpstream(dir, pki, clientCpus);
  const ctx: BenchContext = {
    mode,
    dir,
    pki,
    upstream,
    cpus,
    ...profile,
    concurrency: 64,
    proxyCpus,
    clientCpus,
    clientCpuCount: cpus >= 2 ? cpus - 1 : cpus,
    profileDir,
    wrkShim: wrkAvailable() ? buildClientCertShim(dir) : null,
    has: {
      wrk: wrkAvailable(),
      nginx: nginxBinary() !== null,
      haproxy: haproxyBinary() !== null,
      mitmproxy: mitmdumpBinary() !== null,
      hey: heyAvailable(),
    },
    log,
  };
  const scenarios: Scenario[] = [];
  const plan: [string, () => Promise<Scenario | Scenario[]>][] = [
    [
      'inbound-keepalive',
      () =>
        runInbound(ctx, {
          name: 'inbound-keepalive',
          description:
            'HTTPS to the proxy, mTLS to the upstream, keep-alive on both sides, one worker each pinned to one CPU',
          workers: 1,
          newConnections: false,
        }),
    ],
    [
      'inbound-keepalive-all-cores',
      () =>
        runInbound(ctx, {
          name: 'inbound-keepalive-all-cores',
          description: `the same with as many workers as cores (${cpus}), unpinned`,
          workers: cpus,
          newConnections: false,
        }),
    ],
    [
      'inbound-new-connections',
      () =>
        runInbound(ctx, {
          name: 'inbound-new-connections',
          description:
            'a new client connection (full TLS handshake with the proxy) per request, keep-alive toward the upstream, one worker each',
          workers: 1,
          newConnections: true,
        }),
    ],
    ['inbound-hostnames', () => runInboundHostnames(ctx)],
    ['outbound-intercept', () => runOutboundIntercept(ctx)],
    ['outbound-new-hosts', () => runOutboundNewHosts(ctx)],
    ['scale', () => runScale(ctx)],
  ];
  try {
    for (const [name, run] of plan) {
      if (only && !only.includes(name)) continue;
      log(`== ${name}`);
      const mark = cpuMark();
      const produced = await run();
      const load = foreignLoad(mark, cpuMark());
      loadMax = Math.max(loadMax, os.loadavg()[0] ?? 0);
      for (const scenario of Array.isArray(produced) ? produced : [produced]) {
        scenarios.push({ ...scenario, load });
      }
      log(
        `  other processes used ${(load.foreign_cpu_share * 100).toFixed(1)} % of the CPU during ${name}${load.loaded ? ' (LOADED)' : ''}`,
      );
    }
  } finally {
    await upstream.stop();
    if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  }

  // Profiles are written as each process exits, so every system is stopped by now.
  let profiles: ProfileSummary[] | undefined;
  if (profileRoot !== undefined) {
    const root = profileRoot;
    profiles = readdirSync(root)
      .sort()
      .map((d) => summarizeProfiles(join(root, d), process.cwd()))
      .filter((p): p is ProfileSummary => p !== null);
    writeFileSync(join(root, 'summary.json'), `${JSON.stringify(profiles, null, 2)}\n`);
  }

  const results: BenchResults = {
    machine: machine(),
    date: new Date().toISOString(),
    mode,
    command: `npm run bench${args.length > 0 ? ` -- ${args.join(' ')}` : ''}`,
    pinning: proxyCpus
      ? `one-worker runs pin the system under test (its whole process tree) to CPU ${proxyCpus}; the load generator and the upstream (nginx, 1 worker) share CPU ${clientCpus}. All-cores runs leave the proxy unpinned.`
      : 'none (one CPU).',
    duration_s: round((performance.now() - t0) / 1000, 0),
    load_average: {
      before: round(loadBefore, 2),
      after: round(os.loadavg()[0] ?? 0, 2),
      max: round(Math.max(loadMax, os.loadavg()[0] ?? 0), 2),
    },
    machine_load: foreignLoad(runMark, cpuMark()),
    scenarios,
    targets: checkTargets(scenarios),
    ...(profiles === undefined ? {} : { profiles }),
  };
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(join(outDir, 'latest.md'), renderMarkdown(results));
  log(readFileSync(join(outDir, 'latest.md'), 'utf8'));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
