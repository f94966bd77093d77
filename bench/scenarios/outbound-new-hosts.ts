/**
 * Scenario 4: the first request through a fresh tunnel to each of N hosts never seen before
 * (127.0.1.1, 127.0.1.2, … — all loopback, all served by the upstream's 0.0.0.0 listener, whose
 * certificate names every one), interleaved with the same request to an already-seen host
 * (127.0.0.1). Both pay for CONNECT, the client's TLS handshake and the request; the new host also
 * pays for minting its interception certificate and for a new upstream pool and handshake. The
 * difference of the medians is the added latency of a new host.
 */
import type { BenchContext } from '../context.js';
import { oneRequest, type TunnelLoadOptions } from '../load/tunnel-worker.js';
import { newHostAddress } from '../lib/pki.js';
import { monotonicUs, recordProfileWindow } from '../lib/profile.js';
import { median, percentile, round, type Scenario } from '../lib/results.js';
import { startMitmproxy } from '../systems/mitmproxy.js';
import type { StartOptions, SystemHandle } from '../systems/types.js';
import { startVaultgate } from '../systems/vaultgate.js';

export async function runOutboundNewHosts(ctx: BenchContext): Promise<Scenario> {
  const scenario: Scenario = {
    name: 'outbound-new-hosts',
    description: `first request through a new tunnel to each of ${ctx.newHosts} never-seen hosts vs. to an already-seen host`,
    generator: 'sequential Node client (one request at a time)',
    concurrency: 1,
    rounds: 1,
    duration_s: 0,
    results: {},
    skipped: {},
    notes: [
      'Each sample is CONNECT + TLS handshake with the proxy + one GET on a fresh tunnel; new and seen hosts alternate.',
      'added_p50_ms = new_host_p50_ms − seen_host_p50_ms; it includes minting the interception certificate and the new upstream connection (a new host cannot reuse a pooled one).',
    ],
  };
  const opts: StartOptions = {
    dir: ctx.dir,
    pki: ctx.pki,
    upstream: ctx.upstream,
    workers: 1,
    cpus: ctx.proxyCpus,
    profileDir: ctx.profileDir('outbound-new-hosts-vaultgate'),
  };
  const systems: SystemHandle[] = [];
  try {
    systems.push(await startVaultgate(opts));
    if (ctx.has.mitmproxy) systems.push(await startMitmproxy(opts));
    else scenario.skipped['mitmproxy'] = 'mitmproxy is not installed';
    const t0 = performance.now();
    for (const system of systems) {
      const outbound = system.outbound as NonNullable<SystemHandle['outbound']>;
      const request = (host: string): TunnelLoadOptions => ({
        proxy: { port: outbound.port, username: outbound.username, password: outbound.password },
        target: { host, port: ctx.upstream.manyPort },
        hostHeader: `${host}:${ctx.upstream.manyPort}`,
        caPem: outbound.caPem,
        connections: 1,
        durationMs: 0,
      });
      // Warm the seen host (its certificate minted, its upstream pool open) and the code paths.
      for (let i = 0; i < 20; i++) await oneRequest(request('127.0.0.1'));
      const from = monotonicUs();
      const fresh: number[] = [];
      const seen: number[] = [];
      let errors = 0;
      for (let i = 0; i < ctx.newHosts; i++) {
        for (const [host, into] of [
          [newHostAddress(i), fresh],
          ['127.0.0.1', seen],
        ] as const) {
          try {
            const answer = await oneRequest(request(host));
            if (answer.status === 200) into.push(answer.ms);
            else errors++;
          } catch {
            errors++;
          }
        }
      }
      recordProfileWindow(system.profileDir, from, monotonicUs());
      scenario.results[system.name] = {
        hosts: ctx.newHosts,
        new_host_p50_ms: round(median(fresh), 2),
        new_host_p99_ms: round(percentile(fresh, 99), 2),
        seen_host_p50_ms: round(median(seen), 2),
        seen_host_p99_ms: round(percentile(seen, 99), 2),
        added_p50_ms: round(median(fresh) - median(seen), 2),
        added_p99_ms: round(percentile(fresh, 99) - percentile(seen, 99), 2),
        errors,
      };
      ctx.log(`  ${system.name}: ${JSON.stringify(scenario.results[system.name])}`);
    }
    scenario.duration_s = round((performance.now() - t0) / 1000, 1);
  } finally {
    for (const system of systems) await system.stop();
  }
  return scenario;
}
