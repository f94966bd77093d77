/**
 * A data-plane worker process (SPEC §1a), forked by the control plane (src/dataplane/supervisor.ts).
 * It opens the store itself and builds its own immutable snapshot with the same SnapshotBuilder, so
 * sealed keys never travel between processes; it serves the proxy ports on the listening handles the
 * control plane sends, and answers the control plane's refresh, metrics and drain requests.
 */
import { sessionTicketKeys } from '../secrets/ticket-keys.js';
import type { Settings } from '../config/settings.js';
import { createLogger, flushLogs, type Logger } from '../observability/logger.js';
import { Metrics, registerUnusableCertificatesGauge } from '../observability/metrics.js';
import { CredentialHasher } from '../secrets/credentials.js';
import { Keyring } from '../secrets/keyring.js';
import { SnapshotBuilder } from '../snapshot/build.js';
import { SnapshotHolder } from '../snapshot/holder.js';
import { openStore } from '../store/open.js';
import type { Store } from '../store/types.js';
import { createDataPlane, type DataPlane } from './data-plane.js';
import { SharedThrottle } from './shared-throttle.js';
import { PROXY_LISTENERS, type FromWorker, type ToWorker } from './protocol.js';

type Init = Extract<ToWorker, { type: 'init' }>;

interface Running {
  init: Init;
  logger: Logger;
  store: Store;
  snapshot: SnapshotHolder;
  metrics: Metrics;
  plane: DataPlane;
  authThrottle: SharedThrottle;
}

let running: Running | undefined;
let stopping = false;
let ignoreRefresh = false;
let listening = 0;

function send(msg: FromWorker): void {
  if (process.connected) process.send?.(msg);
}

/**
 * Leaves once the IPC channel has carried what is queued (a final log line, `fatal`) and stdout
 * has taken the buffered log lines (written off the event loop: the pending write holds the
 * process until it is done).
 */
function leave(code: number): void {
  process.exitCode = code;
  if (process.connected) process.disconnect();
  // Whatever still holds the event loop (a socket past its grace) must not keep a worker alive;
  // the lines logged until then are written first.
  setTimeout(() => void flushLogs(500).then(() => process.exit(code)), 2_000).unref();
}

function fatal(err: unknown): void {
  const e = err as NodeJS.ErrnoException;
  send({ type: 'fatal', message: e.message ?? String(err), code: e.code });
  leave(1);
}

async function start(init: Init): Promise<void> {
  const { settings: received, workerId, logs } = init;
  const settings = Object.freeze({ ...received }) as Settings;
  const base = { worker: workerId };
  const logger =
    logs.mode === 'forward'
      ? createLogger(logs.level, base, (line) => send({ type: 'log', line }))
      : createLogger(logs.level, base);
  const store = await openStore({ dataDir: settings.dataDir, databaseUrl: settings.databaseUrl });
  const keyring = new Keyring(Buffer.from(init.masterKey));
  const builder = new SnapshotBuilder(keyring, settings.domain, (msg, fields) => logger.error(msg, fields));
  // With PostgreSQL the holder also follows the store's change feed itself: a change made through
  // another instance reaches this worker within the feed's ≤ 1 s, without the control plane.
  const snapshot = await SnapshotHolder.create(store, builder, logger);
  const metrics = new Metrics(String(workerId));
  registerUnusableCertificatesGauge(metrics, () => builder.leftOutCounts());
  const authThrottle = new SharedThrottle(settings.authFailuresPerMinute, (address) =>
    send({ type: 'auth-failure', address }),
  );
  const plane = createDataPlane({
    settings,
    snapshot,
    hasher: new CredentialHasher(Buffer.from(init.serverSecret)),
    listenerTls: {
      ...init.listenerTls,
      ticketKeys: sessionTicketKeys(init.serverSecret, init.listenerTls.certPem),
    },
    authThrottle,
    logger,
    metrics,
  });
  running = { init, logger, store, snapshot, metrics, plane, authThrottle };
  if (stopping) return; // a drain came while starting: nothing was accepted, nothing to wait for
  send({ type: 'built', version: snapshot.current.version });
}

async function drain(graceMs: number): Promise<void> {
  if (stopping) return;
  stopping = true;
  const r = running;
  if (r === undefined) {
    leave(0);
    return;
  }
  const drained = r.plane.drain(graceMs);
  // drain() closed the listening handles synchronously: this worker accepts nothing from here on.
  send({ type: 'draining' });
  try {
    await drained;
    await r.store.close();
  } catch (err) {
    r.logger.error('worker shutdown failed', { err });
  }
  leave(0);
}

process.on('message', (msg: ToWorker, handle?: object) => {
  switch (msg.type) {
    case 'init':
      start(msg).catch(fatal);
      return;
    case 'listen': {
      const r = running;
      if (r === undefined || handle === undefined || stopping) return;
      r.plane.listen(msg.name, handle).then(() => {
        if (++listening === PROXY_LISTENERS.length) send({ type: 'listening' });
      }, fatal);
      return;
    }
    case 'refresh': {
      const r = running;
      if (r === undefined || ignoreRefresh) return;
      r.snapshot.refreshTo(msg.version).then(
        (s) => send({ type: 'refreshed', id: msg.id, version: s.version }),
        // Not acknowledged: the control plane replaces this worker after its 5 s.
        (err: unknown) => r.logger.error('could not build the snapshot the control plane asked for', { err }),
      );
      return;
    }
    case 'metrics': {
      const r = running;
      if (r === undefined) return;
      r.metrics.json().then(
        (families) => send({ type: 'metrics', id: msg.id, families }),
        // Not answered: the scrape leaves this worker out after its timeout.
        (err: unknown) =>
          r.logger.error('could not collect the metrics the control plane asked for', { err }),
      );
      return;
    }
    case 'drain':
      void drain(msg.graceMs);
      return;
    case 'auth-failure':
      running?.authThrottle.record(msg.address);
      return;
    case 'test:ignore-refresh':
      if (running?.init.testHooks) ignoreRefresh = true;
      return;
  }
});

// The control plane is gone (killed, crashed): finish what was accepted and leave; nobody would
// replace the snapshot or collect the logs any more.
process.on('disconnect', () => void drain(10_000));

// A worker shares the control plane's process group, so Ctrl-C in a terminal and systemd's default
// KillMode=control-group signal it too, at the same moment as the control plane: drain as the
// control plane would ask (which then finds it already draining) instead of dying of the default
// action with requests in flight. A worker signalled alone drains, exits and is replaced.
process.on('SIGTERM', () => void drain(10_000));
process.on('SIGINT', () => void drain(10_000));
