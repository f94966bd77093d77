/**
 * A small worker_threads pool for CPU-bound work that user input can make expensive: reading an
 * upload (key derivation, PKCS#12, PEM of any size) and checking route regexes and CA bundles.
 * Run on the main thread, one such request held every proxied request for seconds (issue 11).
 *
 * Hand-written rather than piscina: what we need is small — a FIFO queue, one job per thread, and a
 * hard time limit that terminates the thread (piscina's AbortSignal also terminates, but brings
 * its own thread-count, idle and histogram policy we would have to pin down, for ~150 lines saved).
 * Threads start on first use and do not keep the process alive; close() ends them.
 */
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { VaultgateError, type ErrorCode } from '../errors.js';
import type { JobInput, JobName, JobOutput, WorkerReply } from './protocol.js';

/** Long enough for the slowest legitimate upload on a loaded machine (PKCS#12 at its work cap). */
export const JOB_TIME_LIMIT_MS = 4_000;

export interface OffloadOptions {
  /** Threads; default 1 on a machine with two cores or fewer (the main thread keeps one), else 2. */
  readonly size?: number;
  readonly timeLimitMs?: number;
}

/** A job that ran past the time limit; its thread was terminated. */
export class JobTimeLimitError extends Error {
  constructor(readonly limitMs: number) {
    super(`the job ran longer than ${limitMs} ms`);
  }
}

interface Job {
  readonly id: number;
  readonly name: JobName;
  readonly input: unknown;
  resolve(value: unknown): void;
  reject(err: Error): void;
}

interface Slot {
  readonly worker: Worker;
  ready: boolean;
  job: Job | undefined;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The worker script. Compiled, it is worker.js next to this file; under vitest this file is the
 * TypeScript source, which a worker thread cannot load (Node 20 has no type stripping), so the
 * compiled copy in dist/ is used — test/global-setup.ts builds it before every run.
 */
function workerScript(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts')
    ? resolve(dirname(here), '../../dist/src/offload/worker.js')
    : resolve(dirname(here), 'worker.js');
}

export class OffloadPool {
  readonly size: number;
  readonly timeLimitMs: number;
  readonly #script = workerScript();
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextId = 1;
  #closed = false;

  constructor(options: OffloadOptions = {}) {
    this.size = options.size ?? (availableParallelism() <= 2 ? 1 : 2);
    this.timeLimitMs = options.timeLimitMs ?? JOB_TIME_LIMIT_MS;
  }

  /**
   * Runs a job from jobs.ts in a thread. Rejects with the job's VaultgateError (rebuilt from its
   * code, message and field), with JobTimeLimitError, or with an Error for anything unexpected.
   */
  run<N extends JobName>(name: N, input: JobInput<N>): Promise<JobOutput<N>> {
    if (this.#closed) return Promise.reject(new Error('the offload pool is closed'));
    return new Promise<JobOutput<N>>((resolve, reject) => {
      this.#queue.push({
        id: this.#nextId++,
        name,
        input,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      this.#dispatch();
    });
  }

  /** Ends every thread; queued and running jobs are rejected. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) job.reject(new Error('vaultgate is stopping'));
    const slots = this.#slots.splice(0);
    for (const slot of slots) {
      clearTimeout(slot.timer);
      slot.job?.reject(new Error('vaultgate is stopping'));
      slot.job = undefined;
    }
    await Promise.all(slots.map((slot) => slot.worker.terminate()));
  }

  /** For tests: the threads alive now. */
  get threads(): number {
    return this.#slots.length;
  }

  #dispatch(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const idle = this.#slots.find((s) => s.ready && s.job === undefined);
      if (idle === undefined) {
        if (this.#slots.length < this.size) this.#spawn();
        return;
      }
      const job = this.#queue.shift() as Job;
      idle.job = job;
      // The limit runs from when the thread takes the job, not from when it was queued.
      idle.timer = setTimeout(() => this.#expire(idle), this.timeLimitMs);
      idle.worker.postMessage({ id: job.id, name: job.name, input: job.input });
    }
  }

  #spawn(): void {
    const worker = new Worker(this.#script);
    worker.unref();
    const slot: Slot = { worker, ready: false, job: undefined, timer: undefined };
    this.#slots.push(slot);
    worker.on('message', (reply: WorkerReply) => this.#reply(slot, reply));
    worker.on('error', (err) => this.#lost(slot, err));
    worker.on('exit', (code) => this.#lost(slot, new Error(`the offload thread exited (code ${code})`)));
  }

  #reply(slot: Slot, reply: WorkerReply): void {
    if ('ready' in reply) {
      slot.ready = true;
      this.#dispatch();
      return;
    }
    const job = slot.job;
    if (job === undefined || job.id !== reply.id) return;
    clearTimeout(slot.timer);
    slot.job = undefined;
    if ('value' in reply) job.resolve(reply.value);
    else if (reply.error.code !== undefined)
      job.reject(new VaultgateError(reply.error.code as ErrorCode, reply.error.message, reply.error.field));
    else job.reject(new Error(reply.error.message));
    this.#dispatch();
  }

  #expire(slot: Slot): void {
    const job = slot.job;
    slot.job = undefined;
    this.#remove(slot);
    // terminate() stops the thread even inside a native call such as OpenSSL's key derivation.
    void slot.worker.terminate();
    job?.reject(new JobTimeLimitError(this.timeLimitMs));
    this.#dispatch();
  }

  #lost(slot: Slot, err: Error): void {
    if (!this.#remove(slot)) return;
    clearTimeout(slot.timer);
    const job = slot.job;
    slot.job = undefined;
    job?.reject(err);
    this.#dispatch();
  }

  #remove(slot: Slot): boolean {
    const index = this.#slots.indexOf(slot);
    if (index < 0) return false;
    this.#slots.splice(index, 1);
    return true;
  }
}
