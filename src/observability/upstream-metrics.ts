/**
 * Figures of the upstream connection pools of one process, one set of pools per direction
 * (src/dataplane/data-plane.ts): TLS handshakes toward upstreams, full or resumed (SPEC §2
 * `vaultgate_upstream_handshakes_total{direction,resumed}`), and how many pools and client TLS
 * contexts are held. Read from the pools' own counters at scrape time: nothing is added per connection.
 */
import { scrapeCounter, scrapeGauge, type Metrics } from './metrics.js';
import type { Direction } from './proxy-metrics.js';

export interface PoolFigures {
  stats(): { pools: number; contexts: number; handshakes: number; resumedSessions: number };
}

export function registerUpstreamMetrics(
  metrics: Metrics,
  pools: Readonly<Record<Direction, PoolFigures>>,
): void {
  const each = (read: (direction: Direction, stats: ReturnType<PoolFigures['stats']>) => void): void => {
    for (const direction of ['inbound', 'outbound'] as const) read(direction, pools[direction].stats());
  };
  scrapeCounter(
    metrics,
    'vaultgate_upstream_handshakes_total',
    'TLS handshakes completed toward upstreams, by direction and whether a cached session was resumed.',
    ['direction', 'resumed'],
    (c) =>
      each((direction, s) => {
        c.inc({ direction, resumed: 'true' }, s.resumedSessions);
        c.inc({ direction, resumed: 'false' }, s.handshakes - s.resumedSessions);
      }),
  );
  scrapeGauge(
    metrics,
    'vaultgate_upstream_pools',
    'Upstream connection pools held, one per (origin, client certificate, trust settings), by direction.',
    ['direction'],
    (g) => each((direction, s) => g.set({ direction }, s.pools)),
  );
  scrapeGauge(
    metrics,
    'vaultgate_upstream_tls_contexts',
    'Client TLS contexts held for upstream connections (one per client certificate and extra CA), by direction.',
    ['direction'],
    (g) => each((direction, s) => g.set({ direction }, s.contexts)),
  );
}
