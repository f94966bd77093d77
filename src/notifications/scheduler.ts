/**
 * The control plane's notification loop (never run in data-plane workers): the expiry sweep every
 * minute, and the delivery of due outbox rows with retries. Time comes from an injected clock and
 * timer, so tests move it forward instead of sleeping.
 *
 * Exactly once across instances: a delivery is sent only by the instance whose conditional UPDATE
 * took its lease (Repo.claimWebhookDelivery), and its outcome is written only while that lease is
 * still its own. A process that dies mid-attempt leaves a lease that runs out after LEASE_MS, and
 * the delivery is tried again — at least once, then, with the event id for receivers to deduplicate.
 */
import type { Logger } from '../observability/logger.js';
import type { UpstreamBlocker } from '../proxy/upstream/blocked-ranges.js';
import type { Keyring } from '../secrets/keyring.js';
import { webhookSecretAad } from '../secrets/aad.js';
import type { DeliveryOutcome, Repo, Store, WebhookDeliveryRecord } from '../store/types.js';
import { DELIVERY_TIMEOUT_MS, postDelivery, type AttemptResult } from './delivery.js';
import { sweepExpiry } from './expiry.js';
import { signatureHeader } from './signature.js';

/** A clock and a one-shot timer; production uses realTime. */
export interface SchedulerTime {
  now(): number;
  /** Calls fn after ms; returns a function that cancels it. */
  setTimer(fn: () => void, ms: number): () => void;
}

export const realTime: SchedulerTime = {
  now: () => Date.now(),
  setTimer(fn, ms) {
    const timer = setTimeout(fn, ms);
    timer.unref(); // a pending sweep never keeps a stopping process alive
    return () => clearTimeout(timer);
  },
};

export const SWEEP_INTERVAL_MS = 60_000;
/** Retries: 30 s, doubling, at most an hour apart, for 24 h after the event (SPEC §2). */
export const FIRST_RETRY_MS = 30_000;
export const MAX_RETRY_MS = 3_600_000;
export const RETRY_WINDOW_MS = 24 * 3_600_000;
/** Longer than an attempt can take (the 10 s timeout), so a lease never runs out mid-attempt. */
const LEASE_MS = 6 * DELIVERY_TIMEOUT_MS;
const BATCH = 20;

/** The wait after the n-th failed attempt (n ≥ 1). */
export function retryDelay(failedAttempts: number): number {
  return Math.min(FIRST_RETRY_MS * 2 ** Math.min(failedAttempts - 1, 20), MAX_RETRY_MS);
}

export interface SchedulerDeps {
  store: Store;
  keyring: Keyring;
  logger: Logger;
  /** Built once the listeners' ports are known: vaultgate's own ports are never receivers. */
  blocker: () => UpstreamBlocker;
  extraCaPem?: string | undefined;
  time?: SchedulerTime | undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class NotificationScheduler {
  readonly #deps: SchedulerDeps;
  readonly #time: SchedulerTime;
  #blocker: UpstreamBlocker | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #stopped = true;
  #cancelTimer: (() => void) | undefined;
  #nextSweepAt = 0;

  constructor(deps: SchedulerDeps) {
    this.#deps = deps;
    this.#time = deps.time ?? realTime;
  }

  start(): void {
    this.#stopped = false;
    this.#blocker = this.#deps.blocker();
    this.wake();
  }

  /** Runs a pass now (a change may have enqueued something); a pass under way runs once more. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    this.#running = this.#loop().finally(() => {
      this.#running = undefined;
    });
  }

  /** Resolves once no pass is running (tests: "everything due at this instant was handled"). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Stops waking and waits for the pass under way: call before the store closes. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    await this.idle();
  }

  async #loop(): Promise<void> {
    for (;;) {
      this.#again = false;
      try {
        await this.#pass();
      } catch (err) {
        // The store may be unreachable for a moment; the next pass tries again.
        this.#deps.logger.error('a notification pass failed', { err });
      }
      if (this.#stopped) return;
      if (!this.#again) await this.#arm();
      // A wake that came while this pass ran (or armed) must not wait for the timer.
      if (!this.#again || this.#stopped) return;
      this.#cancelTimer?.();
      this.#cancelTimer = undefined;
    }
  }

  async #pass(): Promise<void> {
    const now = this.#time.now();
    if (now >= this.#nextSweepAt) {
      // Set first: a sweep that fails (the database away) is tried again in a minute, not at once.
      this.#nextSweepAt = now + SWEEP_INTERVAL_MS;
      const fired = await sweepExpiry(this.#deps.store, now);
      if (fired > 0) this.#deps.logger.info('expiry notifications enqueued', { events: fired });
    }
    for (;;) {
      const due = await this.#deps.store.read.listDueWebhookDeliveries(iso(this.#time.now()), BATCH);
      const claimed: { id: string; lease: string }[] = [];
      for (const id of due) {
        if (this.#stopped) break;
        const at = this.#time.now();
        const lease = iso(at + LEASE_MS);
        const claim = (repo: Repo) => repo.claimWebhookDelivery(id, iso(at), lease);
        if (await this.#deps.store.write(claim, { bookkeeping: true })) {
          claimed.push({ id, lease });
        }
      }
      await Promise.all(claimed.map((c) => this.#attempt(c.id, c.lease)));
      if (claimed.length === 0 || due.length < BATCH || this.#stopped) return;
    }
  }

  /** Sleeps until the next sweep or the next retry, whichever is first. */
  async #arm(): Promise<void> {
    const now = this.#time.now();
    let delay = Math.max(0, this.#nextSweepAt - now);
    const next = await this.#deps.store.read.nextWebhookDeliveryAt().catch(() => undefined);
    // A row due now but not claimed here is leased by another instance: the sweep's pace retries it.
    if (next !== undefined && Date.parse(next) > now) delay = Math.min(delay, Date.parse(next) - now);
    if (this.#stopped) return;
    this.#cancelTimer = this.#time.setTimer(() => this.wake(), delay);
  }

  async #attempt(id: string, lease: string): Promise<void> {
    const { store, keyring, logger } = this.#deps;
    const delivery = await store.read.getWebhookDelivery(id);
    const webhook = delivery && (await store.read.getWebhook(delivery.webhook_id));
    if (!delivery || !webhook) return; // deleted with its webhook meanwhile
    const sentAt = this.#time.now();
    let result: AttemptResult;
    try {
      const secret = keyring.open(webhook.secret_sealed, webhookSecretAad(webhook.id)).toString('utf8');
      result = await postDelivery({
        url: webhook.url,
        body: delivery.body,
        signature: signatureHeader(secret, delivery.body, sentAt / 1000),
        blocker: this.#blocker as UpstreamBlocker,
        extraCaPem: this.#deps.extraCaPem,
      });
    } catch (err) {
      // Only the secret failing to open lands here; its details stay out of the answer.
      logger.error('a webhook secret could not be opened', { webhook_id: webhook.id, err });
      result = { status_code: null, error: 'the webhook secret could not be opened' };
    }
    const outcome = this.#outcome(delivery, lease, sentAt, result);
    const recorded = await store.write((repo) => repo.recordWebhookAttempt(outcome), { bookkeeping: true });
    const fields = {
      webhook_id: webhook.id,
      delivery_id: id,
      event_id: delivery.event_id,
      type: delivery.type,
      status_code: result.status_code,
      outcome: outcome.status,
    };
    if (!recorded) {
      // The webhook was deleted meanwhile, or the attempt outlived its lease and another instance
      // took the delivery over.
      logger.warn(
        'a webhook attempt was not recorded: its delivery is gone or another instance took it',
        fields,
      );
    } else if (outcome.status === 'delivered') logger.info('webhook delivered', fields);
    else logger.warn('webhook delivery failed', { ...fields, error: result.error });
  }

  #outcome(d: WebhookDeliveryRecord, lease: string, sentAt: number, r: AttemptResult): DeliveryOutcome {
    const attempt = { at: iso(sentAt), status_code: r.status_code, error: r.error };
    const base = { id: d.id, claimed_until: lease, attempt };
    if (r.error === null) return { ...base, status: 'delivered', next_attempt_at: d.next_attempt_at };
    const next = this.#time.now() + retryDelay(d.attempts + 1);
    const giveUpAt = Date.parse(d.created_at) + RETRY_WINDOW_MS;
    return next > giveUpAt
      ? { ...base, status: 'failed', next_attempt_at: d.next_attempt_at }
      : { ...base, status: 'pending', next_attempt_at: iso(next) };
  }
}
