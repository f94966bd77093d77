import { mkdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type net from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApiHandler } from './api/app.js';
import { ApiAuth } from './api/auth.js';
import { TokenDirectory, TokenHasher, syncBootstrapToken } from './api/tokens.js';
import { dashboardFallback } from './api/dashboard.js';
import { buildEndpoints } from './api/endpoints.js';
import type { ApiContext } from './api/context.js';
import { bootstrapDefaultVault, type DefaultVault } from './bootstrap.js';
import { ConfigError, loadAdminTls, type LogLevel, type Settings } from './config/settings.js';
import { bindSharedPort, type TcpHandle } from './dataplane/handles.js';
import { PROXY_LISTENERS, type ProxyListenerName } from './dataplane/protocol.js';
import { SharedThrottle } from './dataplane/shared-throttle.js';
import { Workers, type WorkerInfo } from './dataplane/supervisor.js';
import { ClientConnections, manageListener } from './listeners/lifecycle.js';
import { createLogger, type Logger } from './observability/logger.js';
import { registerCertificateExpiry } from './observability/certificate-expiry.js';
import { Metrics, scrapeCounter, scrapeGauge } from './observability/metrics.js';
import { OffloadPool } from './offload/pool.js';
import { NotificationScheduler, type SchedulerTime } from './notifications/scheduler.js';
import { webhookBlocker } from './api/webhooks.js';
import { CredentialHasher } from './secrets/credentials.js';
import { loadAdminToken, loadMasterKey } from './secrets/files.js';
import { Keyring } from './secrets/keyring.js';
import { resealCertificateKeys } from './secrets/reseal.js';
import { loadServerSecrets } from './secrets/server-secrets.js';
import { sessionTicketKeys } from './secrets/ticket-keys.js';
import { SnapshotBuilder } from './snapshot/build.js';
import { SnapshotHolder } from './snapshot/holder.js';
import { openStore } from './store/open.js';
import { issueListenerCertificate, privateKeyFromPem } from './pki/index.js';
import type { DataPlaneDeps } from './proxy/deps.js';
import { clientTimeoutOptions } from './proxy/http/client-timeouts.js';
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
  /** The control plane's snapshot (each worker holds its own, built from the same store). */
  readonly snapshot: SnapshotHolder;
  readonly store: Store;
  /**
   * Test seam: what a data plane is given, built in this (control-plane) process from its own
   * snapshot, so unit-level harnesses can run extra proxy listeners in-process
   * (test/helpers/outbound-harness.ts). The real proxy ports are served by the worker processes.
   */
  readonly dataPlane: DataPlaneDeps;
  /** The data-plane workers, as the control plane sees them. */
  readonly workers: {
    list(): WorkerInfo[];
    /** Workers replaced since the start. */
    readonly restarts: number;
    /** Test hook (StartOptions.testHooks): the worker in `slot` stops acknowledging changes. */
    ignoreRefresh(slot: number): void;
  };
  /**
   * Applies changes written to the store outside the API (tools, tests) on the control plane and
   * on every worker, resolving once all of them serve the new snapshot — what an API call does
   * after its commit.
   */
  refresh(): Promise<void>;
  /** The webhook scheduler (control plane only): expiry sweeps and deliveries. */
  readonly notifications: { wake(): void; idle(): Promise<void> };
  /** Stops accepting, lets in-flight requests finish (up to graceMs), closes the database. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartOptions {
  /**
   * The control plane's log sink. Workers send their lines to it over IPC (`logLevel` says which
   * lines it keeps), unless workerLogs is 'stdout'.
   */
  logger?: Logger;
  logLevel?: LogLevel;
  /** 'stdout' (main.ts): workers write to the inherited stdout themselves, off the IPC channel. */
  workerLogs?: 'stdout' | 'forward';
  /** Honour test-only worker messages (Vaultgate.workers.ignoreRefresh). Never set by main.ts. */
  testHooks?: boolean;
  /** Test hook: the clock and timer of the webhook scheduler (fake time instead of sleeps). */
  schedulerTime?: SchedulerTime;
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
 * The control plane, in the order data flows: settings → secrets → store → snapshot → admin
 * listener, then the proxy ports bound here and served by VAULTGATE_WORKERS worker processes
 * (SPEC §1a, docs/architecture.md). Shutdown runs the other way round.
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
  const handles: TcpHandle[] = [];
  let workers: Workers | undefined;
  try {
    const keyring = new Keyring(masterKey.value);
    const secrets = await loadServerSecrets(store, keyring);
    await resealCertificateKeys(store, keyring, logger);
    const hasher = new CredentialHasher(secrets.serverSecret);
    const builder = new SnapshotBuilder(keyring, settings.domain, (msg, fields) => logger.error(msg, fields));
    const snapshot = await SnapshotHolder.create(store, builder, logger);
    const metrics = new Metrics('control');
    registerCertificateExpiry(metrics, snapshot);
    const tokenHasher = new TokenHasher(secrets.serverSecret);
    await syncBootstrapToken(store, tokenHasher, adminToken.value, logger);
    const tokens = new TokenDirectory(store, tokenHasher, logger);
    const auth = new ApiAuth(tokens, secrets.serverSecret, {
      store,
      // Over HTTPS the session cookie is Secure (SPEC §1): never sent back over plain HTTP.
      secureCookies: settings.adminTls !== undefined,
    });
    const offload = new OffloadPool();

    const boundPorts: { ports?: Ports } = {};
    const ctx: ApiContext = {
      settings,
      ports: () => boundPorts.ports,
      store,
      keyring,
      hasher,
      snapshot,
      logger,
      metrics,
      offload,
      localCaPem: secrets.localCa.certPem,
      tokens,
      // Before the workers run (the default vault at first start) there is no one to wait for: each
      // worker builds its first snapshot after that.
      workers: { awaitVersion: (version) => workers?.awaitVersion(version) ?? Promise.resolve() },
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
    // One count per (listener, address, username) over every process (src/dataplane/shared-throttle.ts).
    const authThrottle = new SharedThrottle(settings.authFailuresPerMinute, (address) =>
      workers?.relayAuthFailure(address),
    );
    const dataPlane: DataPlaneDeps = {
      settings,
      authThrottle,
      snapshot,
      hasher,
      listenerTls: {
        certPem: listenerTls.certPem,
        keyPem: listenerTls.keyPem,
        ticketKeys: sessionTicketKeys(secrets.serverSecret, listenerTls.certPem),
      },
      logger,
      metrics,
    };

    // API bodies are at most 1 MiB: a minute to send one is generous, and slow heads are cut at 10 s.
    const apiHandler = createApiHandler({
      endpoints: buildEndpoints(ctx, auth),
      auth,
      logger,
      throttle: authThrottle,
      fallback: dashboardFallback(),
    });
    // VAULTGATE_ADMIN_TLS_*: HTTPS only, on the one port; a plain-HTTP client fails the handshake
    // and is never answered in clear (so a token it sent is not echoed back over plain text either).
    const admin: http.Server | https.Server = settings.adminTls
      ? https.createServer(
          { ...clientTimeoutOptions(60_000), ...loadAdminTls(settings.adminTls) },
          apiHandler,
        )
      : http.createServer(clientTimeoutOptions(60_000), apiHandler);
    servers.push(admin);
    const adminListener = manageListener(admin, {
      name: 'admin',
      maxConnections: settings.maxConnections,
      perClient: new ClientConnections(settings.maxConnectionsPerClient, logger),
      logger,
    });

    // The proxy ports are bound here and served by the workers (src/dataplane/handles.ts).
    const bound = {} as Record<ProxyListenerName, { handle: TcpHandle; port: number }>;
    const wanted = {
      inbound: { host: settings.inboundHost, port: settings.inboundPort },
      outbound: { host: settings.outboundHost, port: settings.outboundPort },
      outbound_tls: { host: settings.outboundHost, port: settings.outboundTlsPort },
    };
    for (const name of PROXY_LISTENERS) {
      bound[name] = await bindSharedPort(wanted[name].host, wanted[name].port);
      handles.push(bound[name].handle);
    }
    const adminPort = await listen(admin, settings.adminHost, settings.adminPort);
    workers = await Workers.start(
      {
        count: settings.workers,
        // The ports each listener got (0 picks one): the workers refuse them as upstreams (SPEC §4).
        settings: {
          ...settings,
          adminPort,
          inboundPort: bound.inbound.port,
          outboundPort: bound.outbound.port,
          outboundTlsPort: bound.outbound_tls.port,
        },
        masterKey: masterKey.value,
        serverSecret: secrets.serverSecret,
        listenerTls: { certPem: listenerTls.certPem, keyPem: listenerTls.keyPem },
        handles: {
          inbound: bound.inbound.handle,
          outbound: bound.outbound.handle,
          outbound_tls: bound.outbound_tls.handle,
        },
        logger,
        logs: {
          mode: options.workerLogs ?? 'forward',
          level: options.logLevel ?? (options.logger ? 'debug' : settings.logLevel),
        },
        testHooks: options.testHooks ?? false,
        onAuthFailure: (address) => authThrottle.record(address),
      },
      snapshot.current.version,
    );
    const running = workers;
    metrics.addSource(() => running.collectMetrics());
    scrapeGauge(
      metrics,
      'vaultgate_workers',
      'Data-plane worker processes serving the proxy ports.',
      [],
      (g) => g.set(running.list().filter((w) => w.state === 'serving').length),
    );
    scrapeCounter(
      metrics,
      'vaultgate_worker_restarts_total',
      'Data-plane workers replaced because they died or did not confirm a change in time.',
      [],
      (c) => c.inc(running.restarts),
    );
    const ports: Ports = {
      admin: adminPort,
      inbound: bound.inbound.port,
      outbound: bound.outbound.port,
      outbound_tls: bound.outbound_tls.port,
    };
    boundPorts.ports = ports;
    writeFileSync(join(settings.dataDir, 'ports.json'), JSON.stringify(ports) + '\n');

    // Here, in the control plane, and never in a worker: one sender per instance, which claims each
    // delivery in the database (src/notifications/scheduler.ts). Every change applied here — an API
    // commit, or another instance's write — wakes it, so an outbox row goes out at once.
    const notifications = new NotificationScheduler({
      store,
      keyring,
      logger,
      blocker: () => webhookBlocker(ctx),
      extraCaPem: settings.upstreamCaPem,
      time: options.schedulerTime,
    });
    notifications.start();
    snapshot.onSwap(() => notifications.wake());

    let stopping: Promise<void> | undefined;
    return {
      ports,
      adminToken,
      defaultVault,
      snapshot,
      store,
      dataPlane,
      notifications,
      workers: {
        list: () => running.list(),
        get restarts() {
          return running.restarts;
        },
        ignoreRefresh: (slot) => running.ignoreRefresh(slot),
      },
      async refresh() {
        const next = await snapshot.refresh();
        await running.awaitVersion(next.version);
      },
      stop(graceMs = 10_000) {
        stopping ??= (async () => {
          // Every worker drains its own connections. The ports close here at once, together with
          // the workers' copies: a port kept open would go on completing handshakes the kernel then
          // queues for no one, and reset those connections at the end instead of refusing them now.
          const workersDone = running.stop(graceMs);
          for (const handle of handles) handle.close();
          await Promise.all([adminListener.drain(graceMs), workersDone]);
          await notifications.stop();
          await offload.close();
          await store.close();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await workers?.stop(0);
    for (const s of servers) s.close();
    for (const handle of handles) handle.close();
    await store.close();
    throw err;
  }
}
