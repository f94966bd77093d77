// The expiry banner: every certificate of the vault that ends within 30 days, the client certificates
// of the Mutual TLS tab and the server certificates of hostnames alike, since either one expiring
// breaks traffic (a third party refuses the client, or callers refuse vaultgate's server).

import { formatDate, h } from './dom.js';
import { certificateName } from './format.js';
import type { Certificate, CertificateStatus, Hostname } from './types.js';

const DAY_MS = 24 * 60 * 60 * 1000;

interface Expiring {
  name: string;
  status: CertificateStatus;
  not_after: string;
}

export function expiresWithin30Days(
  c: { status: CertificateStatus; not_after: string },
  now: number,
): boolean {
  const end = Date.parse(c.not_after);
  return c.status === 'expiring_soon' || (end > now && end - now <= 30 * DAY_MS);
}

/** The banner, or null when nothing expires soon. */
export function expiryBanner(certificates: Certificate[], hostnames: Hostname[]): HTMLElement | null {
  const now = Date.now();
  const items: Expiring[] = [
    ...certificates.map((c) => ({ name: certificateName(c), status: c.status, not_after: c.not_after })),
    ...hostnames.map((x) => ({
      name: `server certificate of ${x.hostname}`,
      status: x.status,
      not_after: x.not_after,
    })),
  ];
  const soon = items.filter((c) => expiresWithin30Days(c, now));
  if (soon.length === 0) return null;
  const servers = soon.length - certificates.filter((c) => expiresWithin30Days(c, now)).length;
  return h(
    'div',
    { class: 'alert alert--warning banner', role: 'alert' },
    h('strong', {}, soon.length === 1 ? '1 certificate expires' : `${soon.length} certificates expire`),
    ' within 30 days: ',
    soon.map((c) => `${c.name} (${formatDate(c.not_after)})`).join(', '),
    '. Upload the renewed certificate before then',
    servers > 0 ? ' (for a hostname: Replace, on the Hostnames tab)' : '',
    '; vaultgate switches to it without a gap.',
  );
}
