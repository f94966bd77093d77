/**
 * Webhook events and the outbox they go through (SPEC §2 "Expiry notifications"). An event is
 * written as one delivery row per subscribed webhook in the transaction of the change it reports, so
 * it exists exactly when the change does: a rolled-back upload notifies no one, and a committed one
 * is delivered even if the process dies right after (the scheduler sends the rows, scheduler.ts).
 */
import { randomUUID } from 'node:crypto';
import type { Repo, WebhookEvent, WebhookRecord } from '../store/types.js';

/** What a receiver gets: `{id, type, at, data}`. */
export interface EventBody {
  /** The event's id; the same in every webhook's delivery of it (receivers deduplicate by it). */
  id: string;
  type: WebhookEvent;
  at: string;
  /** Public metadata only (presentCertificate, presentHostname): never key material. */
  data: unknown;
}

/** The exact text that is signed and sent. */
export function eventBodyText(event: EventBody): string {
  return JSON.stringify(event);
}

/** Enqueues `type` for every webhook subscribed to it. Call inside the change's write transaction. */
export async function enqueueEvent(
  repo: Repo,
  type: WebhookEvent,
  data: unknown,
  at: string,
): Promise<number> {
  const subscribed = (await repo.listWebhooks()).filter((w) => w.events.includes(type));
  return enqueueFor(repo, subscribed, type, data, at);
}

/** Enqueues one event for the webhooks given (the expiry sweep picks them per threshold). */
export async function enqueueFor(
  repo: Repo,
  webhooks: readonly WebhookRecord[],
  type: WebhookEvent,
  data: unknown,
  at: string,
): Promise<number> {
  if (webhooks.length === 0) return 0;
  const eventId = randomUUID();
  const body = eventBodyText({ id: eventId, type, at, data });
  for (const webhook of webhooks) {
    await repo.insertWebhookDelivery({
      id: randomUUID(),
      webhook_id: webhook.id,
      event_id: eventId,
      type,
      body,
      status: 'pending',
      attempts: 0,
      next_attempt_at: at,
      claimed_until: null,
      last_status_code: null,
      last_error: null,
      attempt_log: [],
      created_at: at,
      delivered_at: null,
    });
  }
  return webhooks.length;
}
