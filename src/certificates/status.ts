/** A certificate's validity status (SPEC §2 metadata `status`). */

export type CertificateStatus = 'valid' | 'expiring_soon' | 'expired' | 'not_yet_valid';

/** SPEC §2: `expiring_soon` means within 30 days. */
export const EXPIRING_SOON_MS = 30 * 24 * 60 * 60 * 1000;

type Instant = Date | string | number;

function toMillis(value: Instant): number {
  return typeof value === 'number' ? value : new Date(value).getTime();
}

/**
 * Valid from notBefore inclusive to notAfter exclusive — the same interval the choice rule
 * (choose.ts) uses, so a certificate shown as `valid` is one that would be presented.
 */
export function computeStatus(
  notBefore: Instant,
  notAfter: Instant,
  now: Instant = Date.now(),
): CertificateStatus {
  const t = toMillis(now);
  if (t < toMillis(notBefore)) return 'not_yet_valid';
  const end = toMillis(notAfter);
  if (t >= end) return 'expired';
  return end - t <= EXPIRING_SOON_MS ? 'expiring_soon' : 'valid';
}
