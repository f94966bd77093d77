/**
 * The outbound proxy on top of a real in-process vaultgate, for as long as src/server.ts does not start
 * it: the same snapshot, the same credential hasher (rebuilt from the data dir's master key and the
 * store's sealed server secret), a listener certificate from the same local CA, real ports.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { loadSettings } from '../../src/config/settings.js';
import { createLogger } from '../../src/observability/logger.js';
import { Metrics } from '../../src/observability/metrics.js';
import { issueListenerCertificate, privateKeyFromPem } from '../../src/pki/index.js';
import { createOutboundServers, type OutboundServers } from '../../src/proxy/outbound/index.js';
import { UpstreamPools } from '../../src/proxy/upstream/pools.js';
import { CredentialHasher } from '../../src/secrets/credentials.js';
import { loadMasterKey } from '../../src/secrets/files.js';
import { Keyring } from '../../src/secrets/keyring.js';
import { loadServerSecrets } from '../../src/secrets/server-secrets.js';
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
  const t = await startTestVaultgate(options.env);
  const settings = loadSettings({ VAULTGATE_DATA_DIR: t.dataDir, ...options.env });
  const keyring = new Keyring(loadMasterKey(t.dataDir, undefined).value);
  const secrets = await loadServerSecrets(t.vg.store, keyring);
  const listener = await issueListenerCertificate({
    caCertPem: secrets.localCa.certPem,
    caKey: privateKeyFromPem(secrets.localCa.keyPem),
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
  });
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('debug', {}, (line) => logs.push(JSON.parse(line) as Record<string, unknown>));
  const pools = new UpstreamPools({ extraCaPem: options.upstreamCaPem });
  // What src/server.ts must do too: pools follow certificate deletions.
  t.vg.snapshot.onSwap((next) => pools.retainOnly(new Set(next.certificatesById.keys())));
  const servers = createOutboundServers(
    {
      settings,
      snapshot: t.vg.snapshot,
      hasher: new CredentialHasher(secrets.serverSecret),
      listenerTls: { certPem: listener.certPem, keyPem: listener.keyPem },
      logger,
      metrics: new Metrics(),
    },
    pools,
  );
  const port = await listen(servers.plain);
  const tlsPort = await listen(servers.tls);
  const localCaFile = join(t.dataDir, 'test-local-ca.pem');
  writeFileSync(localCaFile, secrets.localCa.certPem);

  return {
    t,
    servers,
    pools,
    port,
    tlsPort,
    localCaPem: secrets.localCa.certPem,
    localCaFile,
    logs,
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
