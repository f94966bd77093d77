/**
 * Scenarios 1 and 2: HTTPS to the proxy, mutual TLS to the upstream. Keep-alive on both sides, or a
 * new client connection (and so a full TLS handshake with the proxy) per request. wrk drives every
 * system; "direct" is wrk talking to the upstream with the client certificate; "node-reference" is
 * the minimal Node proxy (systems/node-reference-server.ts), the ceiling of a Node data plane.
 *
 * One worker: every system runs one worker (vaultgate VAULTGATE_WORKERS=1 beside its control plane,
 * nginx worker_processes 1, HAProxy nbthread 1, node-reference one process), its whole process tree
 * pinned to one CPU. All cores: as many workers as CPUs, unpinned.
 */
import type { BenchContext } from '../context.js';
import { runWrk } from '../load/wrk.js';
import { measureInterleaved } from '../lib/measure.js';
import type { Scenario, SystemResult } from '../lib/results.js';
import { directHandle } from '../systems/direct.js';
import { startHaproxy } from '../systems/haproxy.js';
import { startNginx } from '../systems/nginx.js';
import { startNodeReference } from '../systems/node-reference.js';
import type { StartOptions, SystemHandle } from '../systems/types.js';
import { startVaultgate } from '../systems/vaultgate.js';

export interface InboundVariant {
  name: string;
  description: string;
  workers: number;
  newConnections: boolean;
}

export async function runInbound(ctx: BenchContext, variant: InboundVariant): Promise<Scenario> {
  const scenario: Scenario = {
    name: variant.name,
    description: variant.description,
    generator: 'wrk 1 thread',
    concurrency: ctx.concurrency,
    rounds: ctx.rounds,
    duration_s: ctx.durationS,
    results: {},
    skipped: {},
    notes: [],
  };
  if (!ctx.has.wrk) {
    scenario.skipped['*'] = 'wrk is not installed';
    return scenario;
  }
  // One worker: the proxy alone on its CPU. All cores: the proxy may use every CPU, shared with wrk
  // and the upstream (a 2-core machine has nothing else to give it).
  const cpus = variant.workers === 1 ? ctx.proxyCpus : undefined;
  const opts: StartOptions = {
    dir: ctx.dir,
    pki: ctx.pki,
    upstream: ctx.upstream,
    workers: variant.workers,
    cpus,
  };
  const systems: SystemHandle[] = [];
  try {
    systems.push(await startVaultgate({ ...opts, profileDir: ctx.profileDir(`${variant.name}-vaultgate`) }));
    // A competitor that fails to start is reported as skipped, with its error, rather than ending the run.
    const tryStart = async (
      name: string,
      installed: boolean,
      start: () => Promise<SystemHandle>,
    ): Promise<void> => {
      if (!installed) scenario.skipped[name] = `${name} is not installed`;
      else {
        try {
          systems.push(await start());
        } catch (err) {
          scenario.skipped[name] = `did not start: ${(err as Error).message.slice(0, 300)}`;
        }
      }
    };
    await tryStart('node-reference', true, () =>
      startNodeReference({ ...opts, profileDir: ctx.profileDir(`${variant.name}-node-reference`) }),
    );
    await tryStart('nginx', ctx.has.nginx, () => startNginx(opts));
    await tryStart('haproxy', ctx.has.haproxy, () => startHaproxy(opts));
    if (ctx.wrkShim !== null) systems.push(directHandle(opts));
    else scenario.skipped['direct'] = 'no C compiler to build the client-certificate shim for wrk';

    scenario.results = await measureInterleaved(
      systems,
      (system, warmup) => {
        const inbound = system.inbound;
        if (!inbound) throw new Error(`${system.name} has no inbound listener`);
        return runWrk({
          dir: ctx.dir,
          port: inbound.port,
          hostHeader: inbound.hostHeader,
          connections: ctx.concurrency,
          durationS: warmup ? ctx.warmupS : ctx.durationS,
          newConnections: variant.newConnections,
          clientCert:
            system.name === 'direct' && ctx.wrkShim !== null
              ? { certFile: ctx.pki.client.certFile, keyFile: ctx.pki.client.keyFile, shim: ctx.wrkShim }
              : undefined,
          cpus: ctx.clientCpus,
        });
      },
      { rounds: ctx.rounds, warmup: ctx.warmupS > 0, upstream: ctx.upstream, log: ctx.log },
    );
  } finally {
    for (const system of systems) await system.stop();
  }
  const vaultgate = scenario.results['vaultgate'] as SystemResult | undefined;
  if (variant.workers > 1) {
    scenario.notes.push(
      `nginx with ${variant.workers} worker processes, HAProxy with ${variant.workers} threads, node-reference with ${variant.workers} node:cluster workers, vaultgate with VAULTGATE_WORKERS=${variant.workers}; nothing pinned.`,
    );
  } else {
    scenario.notes.push(
      `Each proxy's whole process tree (master or control plane included) pinned to CPU ${ctx.proxyCpus ?? '– (one CPU: no pinning)'}.`,
    );
  }
  if (vaultgate?.workers.includes('not used')) {
    scenario.notes.push(
      'This vaultgate build ignores VAULTGATE_WORKERS: it served from a single process (no data-plane workers in its process tree).',
    );
  }
  return scenario;
}
