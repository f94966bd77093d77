/**
 * For webhook tests: fake time for the scheduler, a real HTTP receiver on a free port, and a
 * vaultgate started with that time (StartOptions.schedulerTime).
 */
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { SchedulerTime } from '../../src/notifications/scheduler.js';
import { startTestVaultgate, type TestVaultgate } from './vaultgate.js';

/**
 * Real time plus an offset the test moves forward. Timers fire only in advance(), never by
 * themselves, so what happens between two advances is up to the test; and the clock never runs
 * behind the real one, so rows the API stamps with the real time are never in its future.
 */
export class FakeTime implements SchedulerTime {
  #offset = 0;
  readonly #timers = new Set<{ at: number; fn: () => void }>();

  now = (): number => Date.now() + this.#offset;

  setTimer = (fn: () => void, ms: number): (() => void) => {
    const timer = { at: this.now() + ms, fn };
    this.#timers.add(timer);
    return () => this.#timers.delete(timer);
  };

  /** Moves the clock forward and fires the timers now due, in order. */
  advance(ms: number): void {
    this.#offset += ms;
    const now = this.now();
    for (const timer of [...this.#timers].sort((a, b) => a.at - b.at)) {
      if (timer.at > now) continue;
      this.#timers.delete(timer);
      timer.fn();
    }
  }
}

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the event body, read by the test
  json: any;
}

export interface Receiver {
  url: string;
  port: number;
  received: Received[];
  /** Statuses answered in turn; the last one repeats (default 204). */
  answers: number[];
  /** Resolves once `count` requests arrived in all. */
  waitFor(count: number, ms?: number): Promise<Received[]>;
  close(): Promise<void>;
}

/** A receiver on 127.0.0.1: plain HTTP, or HTTPS with the certificate given. */
export async function startReceiver(
  answers: number[] = [204],
  tls?: { certPem: string; keyPem: string },
): Promise<Receiver> {
  const received: Received[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  const receiver = { answers } as Receiver;
  const handler: http.RequestListener = (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const n = received.length;
      received.push({ headers: req.headers, body, json: JSON.parse(body) });
      const status = receiver.answers[Math.min(n, receiver.answers.length - 1)] ?? 204;
      res.writeHead(status).end();
      for (const w of waiters.filter((w) => received.length >= w.count)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    });
  };
  const server = tls
    ? https.createServer({ cert: tls.certPem, key: tls.keyPem }, handler)
    : http.createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(receiver, {
    url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/hooks`,
    port,
    received,
    async waitFor(count: number, ms = 10_000) {
      if (received.length < count) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error(`the receiver got ${received.length} requests, not ${count}`)),
            ms,
          );
          waiters.push({
            count,
            resolve: () => {
              clearTimeout(timer);
              resolve();
            },
          });
        });
      }
      return received;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

/** startTestVaultgate with the scheduler on `time`; the data dir stays unless the test made it. */
export function startWithTime(
  time: FakeTime,
  env: Record<string, string> = {},
  options: { logLines?: string[] } = {},
): Promise<TestVaultgate> {
  return startTestVaultgate(env, { ...options, schedulerTime: time });
}

/** Waits until every instance's scheduler has handled what is due at this instant. */
export async function settle(...instances: TestVaultgate[]): Promise<void> {
  await Promise.all(instances.map((t) => t.vg.notifications.idle()));
}
