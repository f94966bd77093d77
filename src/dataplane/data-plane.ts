import type http from 'node:http';
import type https from 'node:https';
import { ClientConnections, manageListener, type ManagedListener } from '../listeners/lifecycle.js';
import type { DataPlaneDeps } from '../proxy/deps.js';
import { createInboundServer } from '../proxy/inbound/server.js';
import { createOutboundServers } from '../proxy/outbound/index.js';
import { registerUpstreamMetrics } from '../observability/upstream-metrics.js';
import { UpstreamPools } from '../proxy/upstream/pools.js';
import type { ProxyListenerName } from './protocol.js';

export interface DataPlane {
  readonly servers: Readonly<Record<ProxyListenerName, http.Server | https.Server>>;
  /** Serves one proxy port on `target`: a listening handle from the control plane, or a port number. */
  listen(name: ProxyListenerName, target: object | number, host?: string): Promise<void>;
  /** Stops accepting on every proxy port, lets in-flight requests finish (up to graceMs), frees pools. */
  drain(graceMs: number): Promise<void>;
}

/**
 * The inbound and outbound proxies of one process, with their listener lifecycle: what each
 * data-plane worker runs (src/dataplane/worker.ts). Nothing here knows about the store or the API.
 */
export function createDataPlane(deps: DataPlaneDeps): DataPlane {
  const { settings, logger } = deps;
  // A set of upstream pools per proxy (their handshakes are counted per direction); a snapshot swap
  // retires the pools of deleted certificates so they are never presented again (SPEC §4).
  const newPools = (): UpstreamPools =>
    new UpstreamPools({
      extraCaPem: settings.upstreamCaPem,
      blockLinkLocal: settings.blockLinkLocal,
      // The bound ports: server.ts hands workers their settings with the ports each listener got.
      blocked: {
        ranges: settings.blockedUpstreams,
        ownPorts: [settings.adminPort, settings.inboundPort, settings.outboundPort, settings.outboundTlsPort],
      },
      logger: logger.child({ component: 'upstream' }),
    });
  const pools = { inbound: newPools(), outbound: newPools() };
  deps.snapshot.onSwap((next) => {
    pools.inbound.retainOnly(next.certificatesById);
    pools.outbound.retainOnly(next.certificatesById);
  });
  registerUpstreamMetrics(deps.metrics, pools);
  const inbound = createInboundServer(deps, pools.inbound);
  const outbound = createOutboundServers(deps, pools.outbound);
  const servers = { inbound, outbound: outbound.plain, outbound_tls: outbound.tls };

  const perClient = new ClientConnections(settings.maxConnectionsPerClient, logger);
  const listeners: ManagedListener[] = (Object.keys(servers) as ProxyListenerName[]).map((name) =>
    manageListener(servers[name], {
      name,
      maxConnections: settings.maxConnections,
      perClient,
      logger,
      onDrain: name === 'inbound' ? undefined : outbound.close,
    }),
  );

  let drained: Promise<void> | undefined;
  return {
    servers,
    listen(name, target, host) {
      const server = servers[name];
      return new Promise((resolve, reject) => {
        server.once('error', reject);
        const done = (): void => {
          server.off('error', reject);
          resolve();
        };
        if (typeof target === 'number') server.listen(target, host, done);
        else server.listen(target, done);
      });
    },
    drain(graceMs) {
      drained ??= (async () => {
        await Promise.all(listeners.map((l) => l.drain(graceMs)));
        outbound.close();
        pools.inbound.close();
        pools.outbound.close();
      })();
      return drained;
    },
  };
}
