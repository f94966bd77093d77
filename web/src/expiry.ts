// The expiry banner: every certificate of the vault that ends within 30 days, the client certificates
// of the Mutual TLS tab and the server certificates of hostnames alike, since either one expiring
// breaks traffic (a third party refuses the client, or callers refuse vaultgate's server).
//
// It never reads whole lists: client certificates come from the API's `status=expiring_soon` filter
// (one bounded page), hostnames from their first 1,000.

import { firstItems, listPage } from './api.js';
import { openCertificateRequestForm, type RequestPrefill } from './certificate-request-form.js';
import { clear, formatDate, h } from './dom.js';
import { certificateName } from './format.js';
import { writable } from './roles.js';
import type { Certificate, CertificateStatus, Credential, Hostname, Route, Vault } from './types.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** Expiring client certificates asked for; past it the banner says "more than". */
const EXPIRING_LIMIT = 100;
/** Names spelled out in the banner; the rest are counted. */
const NAMED = 10;

export function expiresWithin30Days(
  c: { status: CertificateStatus; not_after: string },
  now: number,
): boolean {
  const end = Date.parse(c.not_after);
  return c.status === 'expiring_soon' || (end > now && end - now <= 30 * DAY_MS);
}

export interface ExpiryFindings {
  /** Client certificates expiring soon (the `status=expiring_soon` page). */
  certificates: Certificate[];
  /** More expiring client certificates exist than the page holds. */
  more: boolean;
  hostnames: Hostname[];
  /** Why the hostnames could not be read, if they could not: said aloud, a silent gap is a missed expiry. */
  hostnameError: string | null;
}

/** Reads what the banner needs; `certificates: false` for the Hostnames tab, which shows only its own. */
export async function findExpiring(
  vault: Vault,
  options: { certificates: boolean },
): Promise<ExpiryFindings> {
  const base = `/vaults/${vault.id}`;
  const [certificates, hostnames] = await Promise.all([
    options.certificates
      ? listPage<Certificate>(`${base}/certificates`, {
          status: 'expiring_soon',
          limit: String(EXPIRING_LIMIT),
        })
      : { data: [], next_cursor: null },
    firstItems<Hostname>(`${base}/hostnames`).then(
      (found) => ({ list: found.items, error: null }),
      (err: Error) => ({ list: [] as Hostname[], error: err.message }),
    ),
  ]);
  return {
    certificates: certificates.data,
    more: certificates.next_cursor !== null,
    hostnames: hostnames.list,
    hostnameError: hostnames.error,
  };
}

/** The banner (with the hostname warning when those could not be read), or null when all is well. */
export function expiryBanner(found: ExpiryFindings, showExpiring?: () => void): HTMLElement | null {
  const now = Date.now();
  const clients = found.certificates.filter((c) => expiresWithin30Days(c, now));
  const servers = found.hostnames.filter((x) => expiresWithin30Days(x, now));
  const items = [
    ...clients.map((c) => ({ name: certificateName(c), not_after: c.not_after })),
    ...servers.map((x) => ({ name: `server certificate of ${x.hostname}`, not_after: x.not_after })),
  ];
  const warning = found.hostnameError
    ? h(
        'p',
        { class: 'alert alert--warning', role: 'status' },
        `The server certificates of hostnames could not be checked for expiry: ${found.hostnameError}`,
      )
    : null;
  if (items.length === 0) return warning;
  const count = found.more
    ? `More than ${items.length} certificates expire`
    : items.length === 1
      ? '1 certificate expires'
      : `${items.length} certificates expire`;
  const named = items.slice(0, NAMED).map((c) => `${c.name} (${formatDate(c.not_after)})`);
  const rest = items.length - named.length;
  const banner = h(
    'div',
    { class: 'alert alert--warning banner', role: 'alert' },
    h('strong', {}, count),
    ' within 30 days: ',
    named.join(', '),
    found.more ? ', and more' : rest > 0 ? `, and ${rest} other${rest === 1 ? '' : 's'}` : '',
    '. Upload the renewed certificate before then',
    servers.length > 0 ? ' (for a hostname: Replace, on the Hostnames tab)' : '',
    '; vaultgate switches to it without a gap.',
    clients.length > 0 && showExpiring
      ? h(
          'button',
          { type: 'button', class: 'btn btn--small banner__action', onclick: showExpiring },
          'Show expiring certificates',
        )
      : null,
  );
  return warning ? h('div', {}, banner, warning) : banner;
}

/** The CN of an RFC 4514 subject as the API writes it (`CN=a\, b, O=…`), unescaped; '' when none. */
function commonName(subject: string): string {
  const value = /(?:^|, )CN=((?:\\.|[^,\\])*)/.exec(subject)?.[1] ?? '';
  return value.replace(/\\(.)/g, '$1');
}

/** What a renewal request for `c` starts from: its association, description, CN and SANs. */
export function renewalPrefill(c: Certificate): RequestPrefill {
  return {
    proxy_type: c.proxy_type,
    credential_id: c.credential_id,
    route_id: c.route_id,
    description: c.description,
    common_name: commonName(c.subject),
    sans: c.sans.filter((s) => /^(DNS|IP|email):/.test(s)),
    hosts: c.hosts,
  };
}

/**
 * Shown on every Vault Settings page: the client certificates expiring within 30 days, each with
 * "Create renewal request" (a new key and CSR for the same association; once the renewed certificate
 * is attached, the latest not_before wins and traffic switches without a gap). Nothing when none.
 */
export function renewalPanel(vault: Vault, onCreated: () => void): HTMLElement {
  const panel = h('section', { class: 'renewals', 'aria-label': 'Certificates to renew' });
  const base = `/vaults/${vault.id}`;
  listPage<Certificate>(`${base}/certificates`, {
    status: 'expiring_soon',
    limit: String(EXPIRING_LIMIT),
  }).then(
    (page) => {
      const now = Date.now();
      const expiring = page.data.filter((c) => expiresWithin30Days(c, now));
      if (expiring.length === 0) return;
      let ties: Promise<[Credential[], Route[]]> | undefined;
      const renew = (c: Certificate): void => {
        ties ??= Promise.all([
          firstItems<Credential>(`${base}/credentials`),
          firstItems<Route>(`${base}/routes`),
        ]).then(([credentials, routes]) => [credentials.items, routes.items]);
        void ties.then(([credentials, routes]) =>
          openCertificateRequestForm(vault, credentials, routes, onCreated, renewalPrefill(c)),
        );
      };
      clear(
        panel,
        h(
          'div',
          { class: 'alert alert--warning', role: 'status' },
          h('strong', {}, 'Certificates expiring within 30 days'),
          h(
            'ul',
            { class: 'renewals__list' },
            ...expiring.map((c) =>
              h(
                'li',
                {},
                `${certificateName(c)} (${formatDate(c.not_after)}) `,
                writable(
                  'certificate_request.write',
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'btn btn--small',
                      'aria-label': `Create renewal request for ${certificateName(c)}`,
                      onclick: () => renew(c),
                    },
                    'Create renewal request',
                  ),
                ),
              ),
            ),
          ),
        ),
      );
    },
    () => undefined, // the Certificates tab's banner reports a failed read
  );
  return panel;
}
