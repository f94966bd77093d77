/**
 * A real in-process vaultgate (which serves the outbound proxy on its own ports), plus a second pair of
 * outbound listeners built by createOutboundServers from the same data-plane dependencies but with a
 * logger and metrics registry the tests can read: same snapshot, hasher and listener certificate.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { createOutboundServers, type OutboundServers } from '../../src/proxy/outbound/index.js';
import { UpstreamPools } from '../../src/proxy/upstream/pools.js';
import { startTestVaultgate, type TestVaultgate } from './vaultgate.js';

export interface OutboundHarness {
  t: TestVaultgate;
  servers: OutboundServers;
  pools: UpstreamPools;
  /** Plain proxy port and TLS proxy port. */
  port: number;
  tlsPort: number;
  /** The local CA (trust it for the TLS proxy port), as PEM text and as a file. */
  localCaPem: string;
  localCaFile: string;
  /** The registry the proxy reports to; `metric(name)` reads one unlabelled sample. */
  metrics: Metrics;
  metric(name: string): Promise<number>;
  /** Every JSON log line the proxy wrote, parsed. */
  logs: Record<string, unknown>[];
  /** Creates a vault and returns its id and the path of its outbound CA PEM file. */
  vault(name?: string): Promise<{ id: string; caPem: string; caFile: string }>;
  credential(vaultId: string): Promise<{ id: string; username: string; password: string }>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  /** Extra CA trusted for upstreams (the test upstreams' root). */
  upstreamCaPem?: string;
  env?: Record<string, string>;
}

async function listen(server: http.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

export async function startOutboundHarness(options: HarnessOptions = {}): Promise<OutboundHarness> {
  const env = { ...options.env };
  if (options.upstreamCaPem !== undefined) {
    // The process's own outbound listeners trust the test upstreams the way a user would set it up.
    const file = join(mkdtempSync(join(tmpdir(), 'vaultgate-upstream-ca-')), 'upstream-ca.pem');
    writeFileSync(file, options.upstreamCaPem);
    env['VAULTGATE_UPSTREAM_CA_FILE'] = file;
  }
  const t = await startTestVaultgate(env);
  const localCaPem = (await t.api('GET', '/local-ca')).text;
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('debug', {}, (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const metrics = new Metrics('harness');
  const pools = new UpstreamPools({ extraCaPem: options.upstreamCaPem });
  // What src/server.ts must do too: pools follow certificate deletions.
  t.vg.snapshot.onSwap((next) => pools.retainOnly(next.certificatesById));
  const servers = createOutboundServers(
    {
      ...t.vg.dataPlane,
      logger,
      metrics,
    },
    pools,
  );
  const port = await listen(servers.plain);
  const tlsPort = await listen(servers.tls);
  const localCaFile = join(t.dataDir, 'test-local-ca.pem');
  writeFileSync(localCaFile, localCaPem);

  return {
    t,
    servers,
    pools,
    port,
    tlsPort,
    localCaPem,
    localCaFile,
    logs,
    metrics,
    async metric(name) {
      const line = (await metrics.registry.metrics()).split('\n').find((l) => l.startsWith(`${name} `));
      return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
    },
    async vault(name = 'outbound test') {
      const created = await t.api('POST', '/vaults', { name, environment: 'sandbox' });
      if (created.status !== 201) throw new Error(`vault: ${created.text}`);
      const id = created.json.data.id as string;
      const ca = await t.api('GET', `/vaults/${id}/outbound-ca`);
      const caFile = join(t.dataDir, `outbound-ca-${id}.pem`);
      writeFileSync(caFile, ca.text);
      return { id, caPem: ca.text, caFile };
    },
    async credential(vaultId) {
      const created = await t.api('POST', `/vaults/${vaultId}/credentials`, {});
      if (created.status !== 201) throw new Error(`credential: ${created.text}`);
      const { id, username, password } = created.json.data as Record<string, string>;
      return { id: id as string, username: username as string, password: password as string };
    },
    async stop() {
      servers.close();
      for (const server of [servers.plain, servers.tls]) {
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
      pools.close();
      await t.stop();
    },
  };
}
