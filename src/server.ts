import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type https from 'node:https';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApiHandler } from './api/app.js';
import { AdminAuth } from './api/auth.js';
import { dashboardFallback } from './api/dashboard.js';
import { buildEndpoints } from './api/endpoints.js';
import type { ApiContext } from './api/context.js';
import { bootstrapDefaultVault, type DefaultVault } from './bootstrap.js';
import { ConfigError, type Settings } from './config/settings.js';
import { FailureThrottle } from './limits/throttle.js';
import { createLogger, type Logger } from './observability/logger.js';
import { Metrics, registerUnusableCertificatesGauge } from './observability/metrics.js';
import { OffloadPool } from './offload/pool.js';
import { CredentialHasher } from './secrets/credentials.js';
import { loadAdminToken, loadMasterKey } from './secrets/files.js';
import { Keyring } from './secrets/keyring.js';
import { loadServerSecrets } from './secrets/server-secrets.js';
import { SnapshotBuilder } from './snapshot/build.js';
import { SnapshotHolder } from './snapshot/holder.js';
import { openStore } from './store/open.js';
import { issueListenerCertificate, privateKeyFromPem } from './pki/index.js';
import type { DataPlaneDeps } from './proxy/deps.js';
import { clientTimeoutOptions } from './proxy/http/client-timeouts.js';
import { createInboundServer } from './proxy/inbound/server.js';
import { createOutboundServers } from './proxy/outbound/index.js';
import { UpstreamPools } from './proxy/upstream/pools.js';
import type { Store } from './store/types.js';

export interface Ports {
  admin: number;
  inbound: number;
  outbound: number;
  outbound_tls: number;
}

export interface Vaultgate {
  readonly ports: Ports;
  readonly adminToken: { value: string; created: boolean };
  readonly defaultVault: DefaultVault | undefined;
  readonly snapshot: SnapshotHolder;
  readonly store: Store;
  /** What the proxies are given: exposed so tests can build extra data-plane listeners. */
  readonly dataPlane: DataPlaneDeps;
  /** Stops accepting, lets in-flight requests finish (up to graceMs), closes the database. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
}

async function listen(server: net.Server, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/**
 * Caps open connections per listener so idle or slow clients cannot exhaust file descriptors; Node
 * refuses connections over the cap and we say so in the log, at most once every 10 s per listener.
 */
function limitConnections(server: net.Server, name: string, max: number, logger: Logger): void {
  server.maxConnections = max;
  let lastLog = 0;
  let dropped = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - lastLog < 10_000) return;
    lastLog = now;
    logger.warn(
      `the ${name} listener is at its limit of ${max} open connections; refusing new ones (raise VAULTGATE_MAX_CONNECTIONS)`,
      {
        listener: name,
        dropped,
      },
    );
  });
}

/**
 * Lets drain() reach the responses in flight. Node's close() closes only the keep-alive connections
 * idle at that instant: a client whose request was in flight then sends its next one on the same
 * connection, and so on, until the grace runs out and closeAllConnections() cuts requests that had
 * been accepted (found by the reliability suite: `npm run test:reliability -- --only=shutdown`).
 */
function trackResponses(server: http.Server | https.Server): {
  open: Set<http.ServerResponse>;
  draining: boolean;
} {
  const state = { open: new Set<http.ServerResponse>(), draining: false };
  const perSocket = new WeakMap<object, number>();
  const track = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    // Answered with `Connection: close` once draining: the client will not reuse the connection.
    if (state.draining) res.shouldKeepAlive = false;
    const socket = req.socket;
    state.open.add(res);
    perSocket.set(socket, (perSocket.get(socket) ?? 0) + 1);
    res.once('close', () => {
      state.open.delete(res);
      const left = (perSocket.get(socket) ?? 1) - 1;
      perSocket.set(socket, left);
      // A response already under way kept its connection alive. A client may reuse it at once (its
      // next request will be told Connection: close); if none comes, end it gracefully, after what is
      // still buffered (closeIdleConnections() would destroy a socket whose last bytes are unsent).
      if (state.draining && left === 0)
        setTimeout(() => {
          if (perSocket.get(socket) === 0) socket.end();
        }, 500).unref();
    });
  };
  server.prependListener('request', track);
  // Only where a handler exists: a checkContinue listener stops Node from answering 100 Continue itself.
  if (server.listenerCount('checkContinue') > 0) server.prependListener('checkContinue', track);
  return state;
}

/** Stops accepting, ends keep-alive connections after their current response, waits up to graceMs. */
async function drain(
  server: http.Server | https.Server,
  inFlight: ReturnType<typeof trackResponses>,
  graceMs: number,
): Promise<void> {
  inFlight.draining = true;
  for (const res of inFlight.open) if (!res.headersSent) res.shouldKeepAlive = false;
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const timer = setTimeout(() => server.closeAllConnections(), graceMs);
  await closed;
  clearTimeout(timer);
}

/**
 * The whole process, in the order data flows: settings → secrets → store → snapshot → listeners.
 * Shutdown runs the other way round.
 */
export async function startVaultgate(settings: Settings, options: StartOptions = {}): Promise<Vaultgate> {
  const logger = options.logger ?? createLogger(settings.logLevel);
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  const masterKey = loadMasterKey(settings.dataDir, settings.masterKey);
  const adminToken = loadAdminToken(settings.dataDir, settings.adminToken);

  let store: Store;
  try {
    store = await openStore({ dataDir: settings.dataDir, databaseUrl: settings.databaseUrl });
  } catch (err) {
    if (settings.databaseUrl) throw new ConfigError((err as Error).message);
    throw err;
  }
  const servers: (http.Server | https.Server)[] = [];
  try {
    const keyring = new Keyring(masterKey.value);
    const secrets = await loadServerSecrets(store, keyring);
    const hasher = new CredentialHasher(secrets.serverSecret);
    const builder = new SnapshotBuilder(keyring, settings.domain, (msg, fields) => logger.error(msg, fields));
    const snapshot = await SnapshotHolder.create(store, builder, logger);
    const metrics = new Metrics();
    registerUnusableCertificatesGauge(metrics, () => builder.leftOutCounts());
    const auth = new AdminAuth(adminToken.value, secrets.serverSecret);
    const offload = new OffloadPool();

    const bound: { ports?: Ports } = {};
    const ctx: ApiContext = {
      settings,
      ports: () => bound.ports,
      store,
      keyring,
      hasher,
      snapshot,
      logger,
      metrics,
      offload,
      localCaPem: secrets.localCa.certPem,
      ready: async () => {
        try {
          await store.version();
          return true;
        } catch {
          return false;
        }
      },
    };
    const defaultVault = await bootstrapDefaultVault(ctx);

    // The listener certificate is reissued at every start: it is cheap, and a long-running
    // deployment never serves one past its 397-day limit for longer than a restart cycle.
    const listenerTls = await issueListenerCertificate({
      caCertPem: secrets.localCa.certPem,
      caKey: privateKeyFromPem(secrets.localCa.keyPem),
      dnsNames: [
        ...new Set([
          `*.sandbox.${settings.domain}`,
          `*.live.${settings.domain}`,
          settings.domain,
          'localhost',
        ]),
      ],
      ipAddresses: ['127.0.0.1', '::1'],
    });
    const authThrottle = new FailureThrottle(settings.authFailuresPerMinute);
    const dataPlane: DataPlaneDeps = {
      settings,
      authThrottle,
      snapshot,
      hasher,
      listenerTls: { certPem: listenerTls.certPem, keyPem: listenerTls.keyPem },
      logger,
      metrics,
    };

    // One set of upstream pools for both proxies; a snapshot swap retires the pools of deleted
    // certificates so they are never presented again (SPEC §4).
    const pools = new UpstreamPools({
      extraCaPem: settings.upstreamCaPem,
      blockLinkLocal: settings.blockLinkLocal,
      logger: logger.child({ component: 'upstream' }),
    });
    snapshot.onSwap((next) => pools.retainOnly(new Set(next.certificatesById.keys())));
    const inbound = createInboundServer(dataPlane, pools);
    const outbound = createOutboundServers(dataPlane, pools);
    // API bodies are at most 1 MiB: a minute to send one is generous, and slow heads are cut at 10 s.
    const admin = http.createServer(
      clientTimeoutOptions(60_000),
      createApiHandler({
        endpoints: buildEndpoints(ctx, auth),
        auth,
        logger,
        throttle: authThrottle,
        fallback: dashboardFallback(),
      }),
    );
    servers.push(admin, inbound, outbound.plain, outbound.tls);
    const inFlight = servers.map(trackResponses);
    limitConnections(admin, 'admin', settings.maxConnections, logger);
    limitConnections(inbound, 'inbound', settings.maxConnections, logger);
    limitConnections(outbound.plain, 'outbound', settings.maxConnections, logger);
    limitConnections(outbound.tls, 'outbound_tls', settings.maxConnections, logger);
    const ports: Ports = {
      admin: await listen(admin, settings.host, settings.adminPort),
      inbound: await listen(inbound, settings.host, settings.inboundPort),
      outbound: await listen(outbound.plain, settings.host, settings.outboundPort),
      outbound_tls: await listen(outbound.tls, settings.host, settings.outboundTlsPort),
    };
    bound.ports = ports;
    writeFileSync(join(settings.dataDir, 'ports.json'), JSON.stringify(ports) + '\n');

    let stopping: Promise<void> | undefined;
    return {
      ports,
      adminToken,
      defaultVault,
      snapshot,
      store,
      dataPlane,
      stop(graceMs = 10_000) {
        stopping ??= (async () => {
          await Promise.all(
            servers.map((s, i) => drain(s, inFlight[i] as ReturnType<typeof trackResponses>, graceMs)),
          );
          outbound.close();
          pools.close();
          await offload.close();
          await store.close();
        })();
        return stopping;
      },
    };
  } catch (err) {
    for (const s of servers) s.close();
    await store.close();
    throw err;
  }
}
