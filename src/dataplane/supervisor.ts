/**
 * The control plane's side of the data plane (SPEC §1a): forks VAULTGATE_WORKERS worker processes,
 * hands them the listening handles, makes every API change wait until each of them serves it, and
 * replaces those that die or stop answering. docs/architecture.md has the picture and the protocol.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LogLevel, Settings } from '../config/settings.js';
import type { Logger } from '../observability/logger.js';
import type { MetricsJson } from '../observability/metrics.js';
import type { TcpHandle } from './handles.js';
import { PROXY_LISTENERS, type FromWorker, type ProxyListenerName, type ToWorker } from './protocol.js';

/** SPEC §1a: a worker that has not confirmed a change within this is replaced. */
export const ACK_TIMEOUT_MS = 5_000;
/** A worker told to stop must say it stopped accepting within this, or it is killed. */
const STOP_ACCEPTING_MS = 1_000;
/** How long a scrape waits for a worker's metrics before leaving it out. */
const METRICS_TIMEOUT_MS = 2_000;
/** Restart backoff after a worker dies: 200 ms doubling to 10 s; reset once a worker ran 30 s. */
const BACKOFF_MIN_MS = 200;
const BACKOFF_MAX_MS = 10_000;
const STABLE_MS = 30_000;
/** A worker that takes longer than this to start is killed (and replaced). */
const START_TIMEOUT_MS = 60_000;

/**
 * The compiled worker entry. The control plane may itself run from the TypeScript sources (the test
 * suite runs them in-process): its workers are then still the real compiled processes in dist/,
 * which the suite's global setup rebuilds before every run.
 */
const WORKER_ENTRY = fileURLToPath(
  import.meta.url.endsWith('.ts')
    ? new URL('../../dist/src/dataplane/worker.js', import.meta.url)
    : new URL('./worker.js', import.meta.url),
);
/**
 * Node flags every worker runs with, whatever started the control plane (main.js, or a test runner
 * whose own flags must not leak into workers): none of the control plane's, except the V8 CPU
 * profiler's (`node --cpu-prof --cpu-prof-dir=D dist/src/main.js`, as `npm run bench -- --cpu-prof`
 * does), so a profile covers the processes that serve the traffic.
 */
const WORKER_NODE_FLAGS: string[] = process.execArgv.filter((flag) =>
  /^--cpu-prof(-dir=|-interval=|$)/.test(flag),
);

export interface WorkersOptions {
  count: number;
  settings: Settings;
  masterKey: Buffer;
  serverSecret: Buffer;
  listenerTls: { certPem: string; keyPem: string };
  handles: Readonly<Record<ProxyListenerName, TcpHandle>>;
  logger: Logger;
  /** 'stdout': workers write their JSON lines to the inherited stdout; 'forward': through `logger`. */
  logs: { mode: 'stdout' | 'forward'; level: LogLevel };
  testHooks: boolean;
  /** An authentication failure a worker saw (the others have been told already). */
  onAuthFailure(address: string): void;
}

export interface WorkerInfo {
  id: number;
  pid: number | undefined;
  state: Worker['state'];
  /** The store version of the snapshot the worker last confirmed. */
  version: number;
}

class Worker {
  state: 'starting' | 'serving' | 'retired' | 'exited' = 'starting';
  version = -1;
  readonly startedAt = Date.now();
  servingSince = 0;
  readonly pending = new Map<number, (reply: FromWorker | undefined) => void>();
  readonly exited: Promise<void>;
  /** Resolves when the worker is listening, rejects if it dies before. */
  readonly listening: Promise<void>;
  fatal: Error | undefined;
  onListening: () => void = () => undefined;
  /** How far its start got: named in the error when it does not start in time. */
  step = 'forked, no snapshot built yet';
  /** Set when the worker says it closed its listening handles (asked to, or signalled itself). */
  stoppedAccepting = false;
  onDraining: () => void = () => undefined;

  constructor(
    readonly id: number,
    readonly child: ChildProcess,
  ) {
    let failStart: (err: Error) => void = () => undefined;
    this.listening = new Promise<void>((resolve, reject) => {
      this.onListening = resolve;
      failStart = reject;
    });
    this.listening.catch(() => undefined); // observed by whoever awaits it; never unhandled
    this.exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => {
        this.state = 'exited';
        for (const settle of this.pending.values()) settle(undefined);
        this.pending.clear();
        failStart(
          this.fatal ??
            new Error(`a data-plane worker exited while starting (${signal ?? `exit code ${code}`})`),
        );
        resolve();
      }),
    );
  }

  send(msg: ToWorker, handle?: TcpHandle): void {
    if (!this.child.connected) return;
    // The callback swallows the error of a channel that closes under us: the exit handler follows.
    this.child.send(msg, handle as never, () => undefined);
  }
}

export class Workers {
  readonly #options: WorkersOptions;
  /** The current worker of each slot (1…count). */
  readonly #slots = new Map<number, Worker>();
  /** Workers told to stop, still finishing their in-flight requests. */
  readonly #leaving = new Set<Worker>();
  readonly #failures = new Map<number, number>();
  #target = 0;
  #seq = 0;
  #stopping = false;
  #restarts = 0;
  /** Set once start() has returned: from then on every exit is replaced, with backoff. */
  #running = false;

  private constructor(options: WorkersOptions) {
    this.#options = options;
  }

  /** Forks every worker and resolves once all serve; rejects (and stops them) if one cannot start. */
  static async start(options: WorkersOptions, version: number): Promise<Workers> {
    const workers = new Workers(options);
    workers.#target = version;
    const started = [];
    for (let id = 1; id <= options.count; id++) started.push(workers.#spawn(id).listening);
    try {
      await Promise.all(started);
    } catch (err) {
      await workers.stop(0);
      throw err;
    }
    workers.#running = true;
    return workers;
  }

  /** Workers replaced since the start (died, or did not confirm a change). */
  get restarts(): number {
    return this.#restarts;
  }

  list(): WorkerInfo[] {
    return [...this.#slots.values()].map((w) => ({
      id: w.id,
      pid: w.child.pid,
      state: w.state,
      version: w.version,
    }));
  }

  /**
   * Resolves once every serving worker confirms a snapshot of at least `version`. A worker still
   * starting is held back until it has one (#admit), so it needs no waiting here. One that does
   * not confirm within ACK_TIMEOUT_MS stops accepting and is replaced; this still resolves.
   */
  async awaitVersion(version: number): Promise<void> {
    if (version > this.#target) this.#target = version;
    const serving = [...this.#slots.values()].filter((w) => w.state === 'serving');
    await Promise.all(serving.map((w) => this.#confirm(w, version)));
  }

  /** Each serving worker's metric families (those that answer within METRICS_TIMEOUT_MS). */
  async collectMetrics(): Promise<MetricsJson[]> {
    const serving = [...this.#slots.values()].filter((w) => w.state === 'serving');
    const replies = await Promise.all(
      serving.map((w) => this.#request(w, { type: 'metrics', id: 0 }, METRICS_TIMEOUT_MS)),
    );
    return replies.flatMap((r) => (r?.type === 'metrics' ? [r.families] : []));
  }

  /** Tells every worker but `except` of an authentication failure (src/dataplane/shared-throttle.ts). */
  relayAuthFailure(address: string, except?: Worker): void {
    for (const w of this.#slots.values())
      if (w !== except && w.state === 'serving') w.send({ type: 'auth-failure', address });
  }

  /** Test hook (StartOptions.testHooks): the worker in `slot` acknowledges no refresh any more. */
  ignoreRefresh(slot: number): void {
    if (!this.#options.testHooks) throw new Error('test hooks are off');
    this.#slots.get(slot)?.send({ type: 'test:ignore-refresh' });
  }

  /** Drains every worker (each lets its in-flight requests finish, up to graceMs) and waits for it. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    const all = [...this.#slots.values(), ...this.#leaving];
    await Promise.all(all.map((w) => this.#drain(w, graceMs)));
  }

  #spawn(id: number): Worker {
    const { settings, logs } = this.#options;
    const child = fork(WORKER_ENTRY, [], {
      // Structured clone: buffers and handles travel as they are.
      serialization: 'advanced',
      execArgv: WORKER_NODE_FLAGS,
      // A worker takes its settings from the init message only; VAULTGATE_* (which may carry the
      // master key) is not passed on.
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('VAULTGATE_'))),
      stdio: ['ignore', logs.mode === 'stdout' ? 'inherit' : 'ignore', 'inherit', 'ipc'],
    });
    const worker = new Worker(id, child);
    this.#slots.set(id, worker);
    child.on('message', (msg: FromWorker) => this.#onMessage(worker, msg));
    child.on('error', (err) => this.#options.logger.error('data-plane worker error', { worker: id, err }));
    const startTimer = setTimeout(() => {
      if (worker.state === 'exited' || worker.servingSince > 0) return;
      const message = `a data-plane worker did not start within ${START_TIMEOUT_MS / 1000} s (it had ${worker.step})`;
      worker.fatal = new Error(message);
      this.#options.logger.error(`${message}; replacing it`, { worker: id, pid: child.pid });
      child.kill('SIGKILL');
    }, START_TIMEOUT_MS);
    startTimer.unref();
    void worker.exited.then(() => {
      clearTimeout(startTimer);
      this.#onExit(worker);
    });
    worker.send({
      type: 'init',
      workerId: id,
      settings: { ...settings, masterKey: undefined, adminToken: undefined },
      masterKey: this.#options.masterKey,
      serverSecret: this.#options.serverSecret,
      listenerTls: this.#options.listenerTls,
      logs,
      testHooks: this.#options.testHooks,
    });
    return worker;
  }

  #onMessage(worker: Worker, msg: FromWorker): void {
    switch (msg.type) {
      case 'log':
        this.#forwardLog(msg.line);
        return;
      case 'auth-failure':
        this.relayAuthFailure(msg.address, worker);
        this.#options.onAuthFailure(msg.address);
        return;
      case 'built':
        worker.version = msg.version;
        worker.step = `built the snapshot of version ${msg.version}`;
        void this.#admit(worker);
        return;
      case 'listening':
        worker.servingSince = Date.now();
        worker.onListening();
        return;
      case 'draining':
        worker.stoppedAccepting = true;
        worker.onDraining();
        return;
      case 'fatal':
        worker.fatal = Object.assign(new Error(msg.message), { code: msg.code });
        this.#options.logger.error('a data-plane worker could not start', {
          worker: worker.id,
          reason: msg.message,
          code: msg.code,
        });
        return;
      case 'refreshed':
      case 'metrics': {
        if (msg.type === 'refreshed' && msg.version > worker.version) worker.version = msg.version;
        const settle = worker.pending.get(msg.id);
        worker.pending.delete(msg.id);
        settle?.(msg);
        return;
      }
    }
  }

  /**
   * Hands a freshly built worker its listening handles, but only once its snapshot is at least the
   * latest version an API call waits for: a worker that started while a change was being made would
   * otherwise serve the previous configuration after the API said it applies.
   */
  async #admit(worker: Worker): Promise<void> {
    while (worker.state === 'starting' && worker.version < this.#target) {
      if (!(await this.#confirm(worker, this.#target))) return;
    }
    if (worker.state !== 'starting') return;
    worker.state = 'serving';
    worker.step = 'been handed the listening ports, and not yet said it listens';
    for (const name of PROXY_LISTENERS) worker.send({ type: 'listen', name }, this.#options.handles[name]);
  }

  /** Asks the worker for `version`; false when it did not confirm (it is then being replaced). */
  async #confirm(worker: Worker, version: number): Promise<boolean> {
    if (worker.version >= version) return true;
    const reply = await this.#request(worker, { type: 'refresh', id: 0, version }, ACK_TIMEOUT_MS);
    if (reply?.type === 'refreshed' && reply.version >= version) return true;
    if (worker.state === 'serving' || worker.state === 'starting') {
      this.#options.logger.error(
        `a data-plane worker did not confirm configuration version ${version} within ${ACK_TIMEOUT_MS / 1000} s; replacing it`,
        { worker: worker.id, pid: worker.child.pid },
      );
      await this.#retire(worker);
    }
    return false;
  }

  #request(
    worker: Worker,
    msg: Extract<ToWorker, { id: number }>,
    timeoutMs: number,
  ): Promise<FromWorker | undefined> {
    if (worker.state === 'exited') return Promise.resolve(undefined);
    const id = ++this.#seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        worker.pending.delete(id);
        resolve(undefined);
      }, timeoutMs);
      worker.pending.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      worker.send({ ...msg, id });
    });
  }

  /**
   * Takes a worker out of service and starts its replacement at once. Resolves when it no longer
   * accepts connections (it says so, or is killed after STOP_ACCEPTING_MS), so a caller that goes
   * on knows new connections reach only current workers. Its in-flight requests finish with
   * `Connection: close`.
   */
  async #retire(worker: Worker): Promise<void> {
    if (this.#slots.get(worker.id) === worker) {
      this.#slots.delete(worker.id);
      this.#restarts++;
      if (!this.#stopping) this.#spawn(worker.id);
    }
    await this.#drain(worker, 10_000);
  }

  /** Sends `drain`; waits until the worker stopped accepting (or kills it) and, via #leaving, for its exit. */
  #drain(worker: Worker, graceMs: number): Promise<void> {
    if (worker.state === 'exited') return Promise.resolve();
    const wasServing = worker.state === 'serving';
    worker.state = 'retired';
    this.#leaving.add(worker);
    void worker.exited.then(() => this.#leaving.delete(worker));
    const killTimer = setTimeout(() => worker.child.kill('SIGKILL'), graceMs + 2_000);
    killTimer.unref();
    void worker.exited.then(() => clearTimeout(killTimer));
    const stoppedAccepting = new Promise<void>((resolve) => {
      // Only for the step "stop accepting": once the worker says it did, it has the whole grace to
      // finish its in-flight requests (a kill here would cut them).
      const noAnswer = setTimeout(() => {
        if (worker.state === 'exited') return;
        this.#options.logger.error('a data-plane worker did not stop accepting; killing it', {
          worker: worker.id,
          pid: worker.child.pid,
        });
        worker.child.kill('SIGKILL');
      }, STOP_ACCEPTING_MS);
      noAnswer.unref();
      const done = (): void => {
        clearTimeout(noAnswer);
        resolve();
      };
      worker.onDraining = done;
      void worker.exited.then(done);
      // Never had a handle, or already closed them (signalled with its process group): nothing to wait for.
      if (!wasServing || worker.stoppedAccepting) done();
    });
    worker.send({ type: 'drain', graceMs });
    // stop() waits for the exit (every request finished); a retirement only for accepting to stop.
    return this.#stopping ? worker.exited : stoppedAccepting;
  }

  #onExit(worker: Worker): void {
    if (this.#stopping || this.#slots.get(worker.id) !== worker) return;
    this.#slots.delete(worker.id);
    // Before start() has returned, an exit is a start failure, which start() reports instead.
    if (!this.#running) return;
    const ranFor = worker.servingSince === 0 ? 0 : Date.now() - worker.servingSince;
    const failures = ranFor >= STABLE_MS ? 0 : (this.#failures.get(worker.id) ?? 0) + 1;
    this.#failures.set(worker.id, failures);
    const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1));
    this.#options.logger.error('a data-plane worker exited; replacing it', {
      worker: worker.id,
      pid: worker.child.pid,
      exit_code: worker.child.exitCode,
      signal: worker.child.signalCode,
      restart_in_ms: delay,
    });
    this.#restarts++;
    setTimeout(() => {
      if (!this.#stopping && !this.#slots.has(worker.id)) this.#spawn(worker.id);
    }, delay).unref();
  }

  #forwardLog(line: string): void {
    try {
      const {
        level,
        msg,
        time: _time,
        ...fields
      } = JSON.parse(line) as {
        level: LogLevel;
        msg: string;
        time: string;
      };
      this.#options.logger[level](msg, fields);
    } catch {
      this.#options.logger.warn('a data-plane worker wrote a line that is not JSON', { line });
    }
  }
}
