/**
 * Scenario 3: the client opens CONNECT with credentials, the proxy intercepts TLS and sends each
 * request over mutual TLS to the upstream; keep-alive inside the tunnel. One Node load generator
 * (load/tunnel-worker.ts) drives every system, since wrk cannot CONNECT. "vaultgate-inbound" is
 * vaultgate's inbound proxy driven by this same generator: the reference for "interception should
 * cost little more than reverse proxying".
 */
import type { BenchContext } from '../context.js';
import { runTunnel } from '../load/tunnel.js';
import type { TunnelLoadOptions } from '../load/tunnel-worker.js';
import { measureInterleaved } from '../lib/measure.js';
import type { Scenario } from '../lib/results.js';
import { directHandle } from '../systems/direct.js';
import { startMitmproxy } from '../systems/mitmproxy.js';
import type { StartOptions, SystemHandle } from '../systems/types.js';
import { startVaultgate } from '../systems/vaultgate.js';

export async function runOutboundIntercept(ctx: BenchContext): Promise<Scenario> {
  const scenario: Scenario = {
    name: 'outbound-intercept',
    description:
      'CONNECT with credentials → TLS interception → mTLS to the upstream; keep-alive inside the tunnel',
    generator: 'bench/load/tunnel-worker (Node, 1 process)',
    concurrency: ctx.concurrency,
    rounds: ctx.rounds,
    duration_s: ctx.durationS,
    results: {},
    skipped: {},
    notes: [
      'vaultgate-inbound: vaultgate\'s inbound proxy measured with this scenario\'s generator, for the "≥ 0.8 × inbound" comparison.',
    ],
  };
  const opts: StartOptions = {
    dir: ctx.dir,
    pki: ctx.pki,
    upstream: ctx.upstream,
    workers: 1,
    cpus: ctx.proxyCpus,
    nodeArgs: ctx.vaultgateNodeArgs,
  };
  const systems: SystemHandle[] = [];
  const stoppers: SystemHandle[] = [];
  try {
    const vaultgate = await startVaultgate(opts);
    stoppers.push(vaultgate);
    systems.push(vaultgate);
    if (ctx.has.mitmproxy) {
      const mitm = await startMitmproxy(opts);
      stoppers.push(mitm);
      systems.push(mitm);
    } else scenario.skipped['mitmproxy'] = 'mitmproxy is not installed';
    systems.push(directHandle(opts));
    systems.push({ ...vaultgate, name: 'vaultgate-inbound', stop: async () => undefined });

    const upstreamAuthority = `127.0.0.1:${ctx.upstream.port}`;
    scenario.results = await measureInterleaved(
      systems,
      (system, warmup) => {
        const base = {
          connections: ctx.concurrency,
          durationMs: (warmup ? ctx.warmupS : ctx.durationS) * 1000,
        };
        let load: TunnelLoadOptions;
        if (system.name === 'direct') {
          load = {
            ...base,
            target: { host: '127.0.0.1', port: ctx.upstream.port },
            servername: 'localhost',
            hostHeader: upstreamAuthority,
            caPem: ctx.pki.caPem,
            clientCert: { certPem: ctx.pki.client.certPem, keyPem: ctx.pki.client.keyPem },
          };
        } else if (system.name === 'vaultgate-inbound') {
          const inbound = system.inbound as NonNullable<SystemHandle['inbound']>;
          load = {
            ...base,
            target: { host: '127.0.0.1', port: inbound.port },
            servername: inbound.hostHeader,
            hostHeader: inbound.hostHeader,
            caPem: inbound.caPem,
          };
        } else {
          const outbound = system.outbound as NonNullable<SystemHandle['outbound']>;
          load = {
            ...base,
            proxy: { port: outbound.port, username: outbound.username, password: outbound.password },
            target: { host: '127.0.0.1', port: ctx.upstream.port },
            hostHeader: upstreamAuthority,
            caPem: outbound.caPem,
          };
        }
        return runTunnel(load, ctx.clientCpus);
      },
      { rounds: ctx.rounds, warmup: ctx.warmupS > 0, upstream: ctx.upstream, log: ctx.log },
    );
  } finally {
    for (const system of stoppers) await system.stop();
  }
  return scenario;
}
