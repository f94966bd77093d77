/**
 * The expiry sweep: certificate.expiring at each webhook's `days_before` thresholds,
 * certificate.expired once a certificate has ended, hostname.expiring for custom hostnames' server
 * certificates. Each notification fires once per certificate — across restarts and across
 * instances sharing a database — because it is guarded by a row in notification_marks, inserted in
 * the transaction that enqueues its deliveries: whoever inserts it first sends it, everyone else
 * (another instance, or this one after a restart) finds it there.
 */
import { presentCertificate } from '../api/certificates.js';
import { presentHostname } from '../api/hostnames.js';
import type { Store, WebhookEvent, WebhookRecord } from '../store/types.js';
import { enqueueFor } from './events.js';

const DAY_MS = 86_400_000;

interface Candidate {
  subject_id: string;
  type: WebhookEvent;
  threshold_days: number;
  webhooks: WebhookRecord[];
  data: unknown;
}

/**
 * The threshold a webhook is at for something ending in `leftMs`: the smallest of its days_before
 * already reached. A certificate uploaded 5 days before its end, under [30, 7, 1], fires "7" once,
 * not 30 and 7 together; later it fires "1".
 */
function reached(days: readonly number[], leftMs: number): number | undefined {
  let found: number | undefined;
  for (const d of days) if (leftMs <= d * DAY_MS && (found === undefined || d < found)) found = d;
  return found;
}

/** Groups the webhooks per reached threshold: one event (one mark) per (subject, threshold). */
function expiring(
  subjectId: string,
  type: WebhookEvent,
  leftMs: number,
  webhooks: readonly WebhookRecord[],
  data: (threshold: number) => unknown,
): Candidate[] {
  const byThreshold = new Map<number, WebhookRecord[]>();
  for (const webhook of webhooks) {
    const threshold = reached(webhook.days_before, leftMs);
    if (threshold === undefined) continue;
    byThreshold.set(threshold, [...(byThreshold.get(threshold) ?? []), webhook]);
  }
  return [...byThreshold].map(([threshold, group]) => ({
    subject_id: subjectId,
    type,
    threshold_days: threshold,
    webhooks: group,
    data: data(threshold),
  }));
}

/** Finds what is due at `now` and enqueues it; returns how many events fired. Reads only when nothing is. */
export async function sweepExpiry(store: Store, now: number): Promise<number> {
  const webhooks = await store.read.listWebhooks();
  const subscribed = (type: WebhookEvent) => webhooks.filter((w) => w.events.includes(type));
  const certExpiring = subscribed('certificate.expiring');
  const certExpired = subscribed('certificate.expired');
  const hostExpiring = subscribed('hostname.expiring');
  const candidates: Candidate[] = [];

  if (certExpiring.length > 0 || certExpired.length > 0) {
    const horizon = Math.max(0, ...certExpiring.flatMap((w) => w.days_before));
    const ending = await store.read.listCertificatesExpiringBy(
      new Date(now + horizon * DAY_MS).toISOString(),
    );
    for (const cert of ending) {
      const left = Date.parse(cert.not_after) - now;
      if (left <= 0) {
        if (certExpired.length === 0) continue;
        candidates.push({
          subject_id: cert.id,
          type: 'certificate.expired',
          threshold_days: 0,
          webhooks: certExpired,
          data: presentCertificate(cert, now),
        });
      } else {
        candidates.push(
          ...expiring(cert.id, 'certificate.expiring', left, certExpiring, (days_before) => ({
            ...presentCertificate(cert, now),
            days_before,
          })),
        );
      }
    }
  }
  if (hostExpiring.length > 0) {
    for (const host of await store.read.listHostnames()) {
      const left = Date.parse(host.not_after) - now;
      if (left <= 0) continue;
      // A PUT replaces the hostname's certificate under the same id: the renewed certificate gets
      // thresholds of its own, so the mark names the certificate too.
      const subject = `${host.id}:${host.fingerprint_sha256}`;
      candidates.push(
        ...expiring(subject, 'hostname.expiring', left, hostExpiring, (days_before) => ({
          ...presentHostname(host, now),
          days_before,
        })),
      );
    }
  }
  if (candidates.length === 0) return 0;

  const fired = new Set(
    (await store.read.listNotificationMarks([...new Set(candidates.map((c) => c.subject_id))])).map(
      (m) => `${m.subject_id} ${m.type} ${m.threshold_days}`,
    ),
  );
  const fresh = candidates.filter((c) => !fired.has(`${c.subject_id} ${c.type} ${c.threshold_days}`));
  if (fresh.length === 0) return 0;

  const at = new Date(now).toISOString();
  // Outbox rows and marks, nothing a snapshot holds: a bookkeeping write makes no process rebuild.
  return store.write(
    async (repo) => {
      // Webhooks deleted since the read above get nothing (their rows are gone).
      const live = new Set((await repo.listWebhooks()).map((w) => w.id));
      let events = 0;
      for (const c of fresh) {
        const mark = { subject_id: c.subject_id, type: c.type, threshold_days: c.threshold_days };
        if (!(await repo.insertNotificationMark(mark, at))) continue; // fired elsewhere meanwhile
        await enqueueFor(
          repo,
          c.webhooks.filter((w) => live.has(w.id)),
          c.type,
          c.data,
          at,
        );
        events += 1;
      }
      return events;
    },
    { bookkeeping: true },
  );
}
