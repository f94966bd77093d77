/**
 * Scenario 6 (issue 14): new TLS connections per second on the inbound listener when the vault has one
 * custom hostname and when it has 1,000 (a hundredth of them wildcards), each with its own server
 * certificate. The listener picks the certificate by SNI; a lookup that scanned the hostnames, or
 * built a TLS context, per handshake would show as a lower rate with many. Target: the rate with
 * 1,000 within 10 % of the rate with one.
 *
 * Two vaultgate processes, configured alike (one worker, pinned to the proxy CPU, the inbound route
 * to the upstream with its client certificate) except for the hostnames, measured in interleaved
 * rounds by bench/load/handshake-client.c (handshake-worker.ts where it cannot be built): every
 * connection a full handshake and one request, SNI and Host one of the hostnames (always the same
 * one, or each of the 1,000 in turn), and the server certificate verified for that name.
 */
import { join } from 'node:path';
import type { BenchContext } from '../context.js';
import { buildHandshakeClient, runHandshakes } from '../load/handshake.js';
import { measureInterleaved } from '../lib/measure.js';
import { processTree } from '../lib/proc.js';
import { round, type Scenario, type SystemResult } from '../lib/results.js';
import { makeServerCertificates, type ServerCertificate } from '../lib/x509.js';
import type { SystemHandle } from '../systems/types.js';
import { configureVault, describeWorkers, spawnVaultgate } from '../systems/vaultgate.js';

const DOMAIN = 'hosts.bench.example';

/**
 * The hostnames to upload, and for each the name a caller asks for (under a wildcard: one name it
 * covers). One in a hundred is a wildcard (two in a short list, none in a list of one), spread
 * evenly so every stretch of connections asks for some.
 */
export function benchHostnames(count: number): { hostname: string; sni: string }[] {
  const wildcards = count >= 100 ? Math.floor(count / 100) : Math.min(2, count - 1);
  const every = wildcards > 0 ? Math.floor(count / wildcards) : 0;
  return Array.from({ length: count }, (_, i) =>
    every > 0 && i % every === every - 1
      ? { hostname: `*.w${i}.${DOMAIN}`, sni: `caller.w${i}.${DOMAIN}` }
      : { hostname: `h${i}.${DOMAIN}`, sni: `h${i}.${DOMAIN}` },
  );
}

interface HostnamesSystem extends SystemHandle {
  /** The inbound listener's port. */
  readonly port: number;
  readonly sni: string[];
  readonly uploadS: number;
  readonly uploaded: number;
}

async function startWith(
  ctx: BenchContext,
  name: string,
  hostnames: { hostname: string; sni: string }[],
  material: Map<string, ServerCertificate>,
): Promise<HostnamesSystem> {
  const profileDir = ctx.profileDir(`inbound-hostnames-${name}`);
  const vg = await spawnVaultgate(
    join(ctx.dir, `vaultgate-${name}-${Date.now()}`),
    ctx.pki.caFile,
    ctx.proxyCpus,
    {
      workers: 1,
      profileDir,
    },
  );
  try {
    const vault = await configureVault(vg, ctx.pki, ctx.upstream.port);
    // Eight uploads in flight, like a migration script, within a time budget (the result says how
    // many made it): each call returns once the worker serves the new snapshot.
    const budgetMs = ctx.mode === 'full' ? 480_000 : 120_000;
    const t0 = performance.now();
    let next = 0;
    let uploaded = 0;
    const uploader = async (): Promise<void> => {
      while (next < hostnames.length && performance.now() - t0 < budgetMs) {
        const { hostname } = hostnames[next++] as { hostname: string };
        const cert = material.get(hostname) as ServerCertificate;
        await vg.api('POST', `/vaults/${vault.id}/hostnames`, {
          hostname,
          certificate: cert.certificate,
          private_key: cert.private_key,
        });
        uploaded++;
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, hostnames.length) }, uploader));
    const uploadS = (performance.now() - t0) / 1000;
    ctx.log(`  ${name}: ${uploaded} hostname(s) uploaded in ${uploadS.toFixed(1)} s`);
    const pid = vg.started.child.pid as number;
    return {
      name,
      workers: describeWorkers(pid, 1),
      pids: () => processTree(pid),
      profileDir,
      port: vg.ports.inbound,
      sni: hostnames.slice(0, uploaded).map((h) => h.sni),
      uploadS,
      uploaded,
      stop: () => vg.started.stop(),
    };
  } catch (err) {
    await vg.started.stop();
    throw err;
  }
}

export async function runInboundHostnames(ctx: BenchContext): Promise<Scenario> {
  const many = benchHostnames(ctx.hostnames);
  // Three times the rounds, a third as long: the two systems alternate more often, so load that
  // other processes put on the machine, which comes and goes over seconds, falls on both alike.
  const rounds = ctx.rounds * 3;
  const durationS = Math.max(1, Math.round(ctx.durationS / 3));
  const wildcards = many.filter((h) => h.hostname.startsWith('*.')).length;
  const scenario: Scenario = {
    name: 'inbound-hostnames',
    description: `new TLS connections per second on the inbound listener, SNI = a custom hostname: 1 hostname vs ${many.length} (${wildcards} of them wildcards), each with its own server certificate; one worker each, pinned`,
    generator: '',
    concurrency: ctx.concurrency,
    rounds,
    duration_s: durationS,
    results: {},
    skipped: {},
    notes: [],
  };
  const client = buildHandshakeClient(ctx.dir);
  scenario.generator =
    client === null
      ? 'bench/load/handshake-worker (Node, 1 process: the C client could not be built here); a new connection per request'
      : `bench/load/handshake-client (C, OpenSSL, ${ctx.concurrency} threads); a new connection per request`;
  ctx.log(`  making ${many.length} server certificates`);
  const { caPem, certificates } = await makeServerCertificates(many.map((h) => h.hostname));
  const material = new Map(certificates.map((c) => [c.hostname, c]));
  const systems: HostnamesSystem[] = [];
  try {
    systems.push(await startWith(ctx, 'vaultgate-1-hostname', many.slice(0, 1), material));
    systems.push(await startWith(ctx, 'vaultgate-many-hostnames', many, material));
    // vaultgate builds a name's TLS context on its first handshake (about 2 ms, then kept with the
    // snapshot): one connection per hostname first, so the rounds measure the steady state rather
    // than a warm-up too short to reach all 1,000.
    for (const s of systems) {
      const primed = await runHandshakes(
        {
          dir: ctx.dir,
          client,
          port: s.port,
          hostnames: s.sni,
          caPem,
          connections: Math.min(ctx.concurrency, s.sni.length),
          durationMs: 120_000,
          maxConnections: s.sni.length,
        },
        ctx.clientCpus,
      );
      if (primed.errors > 0)
        scenario.notes.push(
          `${s.name}: ${primed.errors} of the ${s.sni.length} first connections (one per hostname) failed, the first with: ${primed.firstError ?? '?'}`,
        );
    }
    const results = await measureInterleaved(
      systems,
      (system, warmup) => {
        const s = system as HostnamesSystem;
        return runHandshakes(
          {
            dir: ctx.dir,
            client,
            port: s.port,
            hostnames: s.sni,
            caPem,
            connections: ctx.concurrency,
            durationMs: (warmup ? ctx.warmupS : durationS) * 1000,
          },
          ctx.clientCpus,
        );
      },
      { rounds, warmup: ctx.warmupS > 0, upstream: ctx.upstream, log: ctx.log },
    );
    for (const system of systems) {
      scenario.results[system.name] = {
        ...(results[system.name] as SystemResult),
        hostnames: system.uploaded,
        upload_s: round(system.uploadS, 1),
      };
    }
    const one = results['vaultgate-1-hostname'];
    const lots = results['vaultgate-many-hostnames'];
    const manySystem = systems[1] as HostnamesSystem;
    if (manySystem.uploaded < many.length)
      scenario.notes.push(
        `Upload stopped by its time budget after ${manySystem.uploaded} of ${many.length} hostnames.`,
      );
    scenario.notes.push(
      `vaultgate-many-hostnames holds ${manySystem.uploaded} hostnames, uploaded (8 calls in flight) in ${manySystem.uploadS.toFixed(1)} s; its connections ask for each in turn. vaultgate-1-hostname holds one and every connection asks for it.`,
      'Each connection: TCP connect, a full TLS handshake (no session offered) with SNI = the hostname, the server certificate verified for that name against the customer CA, one GET with Host = the same name and Connection: close. A certificate for another name, or a non-2xx answer, counts as an error.',
    );
    if (one?.cpu_s_per_10k && lots?.cpu_s_per_10k) {
      scenario.notes.push(
        `CPU per connection, many / one hostname: ${(lots.cpu_s_per_10k / one.cpu_s_per_10k).toFixed(2)}× (CPU s / 10k column; less sensitive to other load than the rates).`,
      );
    }
  } finally {
    for (const system of systems) await system.stop();
  }
  return scenario;
}
