// Vault Settings → Mutual TLS Certificates: the table one page at a time, with a search and filters
// (status, proxy type, the credential or route a certificate is tied to), the expiry banner (which
// also covers the server certificates of hostnames), the preview and removal.

import { api, firstItems, listPage } from './api.js';
import { openAddCertificate } from './certificate-form.js';
import { openCertificateRequestForm } from './certificate-request-form.js';
import { pendingRequests } from './certificate-requests.js';
import { openPreview } from './certificate-preview.js';
import { certificateFilters } from './certificate-filters.js';
import { clear, confirmDialog, errorBox, formatDate, h, loading } from './dom.js';
import { expiryBanner, findExpiring } from './expiry.js';
import { certificateName, routeName, statusBadge, warningText } from './format.js';
import { pager } from './pager.js';
import { allowed, writable } from './roles.js';
import type { Certificate, Credential, Route, Vault } from './types.js';

/** The credentials and inbound routes a certificate can be tied to: names for the table, choices for filters and the form. */
interface Ties {
  credentials: Credential[];
  routes: Route[];
}

export function renderCertificates(main: HTMLElement, vault: Vault, saved?: Certificate): void {
  const base = `/vaults/${vault.id}`;
  const add = h('button', { type: 'button', class: 'btn btn--primary' }, 'Add Certificate');
  const request = h('button', { type: 'button', class: 'btn' }, 'Create certificate request');
  const pending = pendingRequests(vault, (c) => renderCertificates(main, vault, c));
  const banner = h('div');
  const results = h('div', { 'aria-busy': 'true' }, loading('Loading certificates…'));
  const ties: Promise<Ties> = Promise.all([
    firstItems<Credential>(`${base}/credentials`),
    firstItems<Route>(`${base}/routes`),
  ]).then(([credentials, routes]) => ({ credentials: credentials.items, routes: routes.items }));

  let current: Ties = { credentials: [], routes: [] };
  const filters = certificateFilters(() => list.restart());
  const list = pager<Certificate>({
    noun: 'certificates',
    region: results,
    load: (cursor, limit) =>
      Promise.all([
        listPage<Certificate>(`${base}/certificates`, {
          ...filters.params(),
          limit: String(limit),
          cursor,
        }),
        ties,
      ]).then(([page, known]) => {
        current = known;
        return page;
      }),
    show: (certs, state) => {
      clear(
        results,
        ...(certs.length === 0 && state.first
          ? [emptyState(filters.active(), () => filters.reset())]
          : [table(vault, certs, current, () => changed())]),
      );
      bannerOnce();
    },
    failed: (message) => {
      clear(results, errorBox(message));
      bannerOnce();
    },
  });

  const showBanner = (): void => {
    findExpiring(vault, { certificates: true }).then(
      (found) =>
        clear(
          banner,
          expiryBanner(found, () => filters.set({ status: 'expiring_soon' })),
        ),
      (err: Error) => clear(banner, errorBox(`Expiring certificates could not be checked: ${err.message}`)),
    );
  };
  // The banner's reads wait for the first page: on a busy server the table comes first.
  let bannerAsked = false;
  const bannerOnce = (): void => {
    if (bannerAsked) return;
    bannerAsked = true;
    showBanner();
  };
  const changed = (): void => {
    list.reload();
    showBanner();
  };

  clear(
    main,
    h(
      'div',
      { class: 'section-head' },
      h(
        'div',
        {},
        h('h2', {}, 'Mutual TLS Certificates'),
        h(
          'p',
          { class: 'muted' },
          'Client certificates vaultgate presents to third parties: outbound, per access credential; inbound, per route.',
        ),
      ),
      h(
        'div',
        { class: 'section-head__actions' },
        writable('certificate_request.write', request),
        writable('certificate.write', add),
      ),
    ),
    saved ? savedNotice(saved, () => filters.set({ q: saved.id })) : null,
    banner,
    pending.element,
    filters.form,
    results,
    list.nav,
  );
  ties.then(
    (known) => filters.offerTies(known.credentials, known.routes),
    () => undefined, // the list shows the error
  );
  request.addEventListener('click', () => {
    request.disabled = true;
    ties.then(
      (known) => {
        request.disabled = false;
        openCertificateRequestForm(vault, known.credentials, known.routes, () => pending.reload());
      },
      (err: Error) => {
        request.disabled = false;
        clear(results, errorBox(err.message));
      },
    );
  });
  add.addEventListener('click', () => {
    add.disabled = true;
    ties.then(
      (known) => {
        add.disabled = false;
        openAddCertificate(vault, known.credentials, known.routes, (c) => renderCertificates(main, vault, c));
      },
      (err: Error) => {
        add.disabled = false;
        clear(results, errorBox(err.message));
      },
    );
  });
}

function savedNotice(saved: Certificate, find: () => void): HTMLElement {
  const warnings = saved.warnings ?? [];
  return h(
    'div',
    { class: warnings.length ? 'alert alert--warning' : 'alert alert--success', role: 'status' },
    h(
      'p',
      {},
      `Certificate “${certificateName(saved)}” added. `,
      // The list is in creation order: with many certificates the new one is on the last page.
      h('button', { type: 'button', class: 'link-btn', onclick: find }, 'Show it in the list'),
    ),
    warnings.length
      ? h(
          'ul',
          { class: 'warnings', 'aria-label': 'Warnings' },
          ...warnings.map((w) => h('li', {}, warningText(w))),
        )
      : null,
  );
}

function emptyState(filtered: boolean, reset: () => void): HTMLElement {
  if (filtered) {
    return h(
      'div',
      { class: 'empty' },
      h('p', { class: 'empty__title' }, 'No certificate matches'),
      h('p', { class: 'muted' }, 'Try another search, or clear the filters.'),
      h('button', { type: 'button', class: 'btn', onclick: reset }, 'Clear filters'),
    );
  }
  return h(
    'div',
    { class: 'empty' },
    h('p', { class: 'empty__title' }, 'No certificates yet — add the one your card network issued you'),
    allowed('certificate.write')
      ? h('p', { class: 'muted' }, 'Use “Add Certificate” to upload a PEM pair or a .p12/.pfx file.')
      : h('p', { class: 'muted' }, 'An operator or admin can upload one.'),
  );
}

function table(vault: Vault, certs: Certificate[], ties: Ties, changed: () => void): HTMLElement {
  const credentials = new Map(ties.credentials.map((c) => [c.id, c]));
  const routes = new Map(ties.routes.map((r) => [r.id, r]));
  const association = (c: Certificate): string => {
    if (c.proxy_type === 'outbound') {
      const cred = c.credential_id === null ? undefined : credentials.get(c.credential_id);
      return cred ? cred.description || cred.username : (c.credential_id ?? '—');
    }
    const route = c.route_id === null ? undefined : routes.get(c.route_id);
    return route ? `Route: ${routeName(route)}` : (c.route_id ?? '—');
  };

  const rows = certs.map((c) => {
    const name = certificateName(c);
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'icon-btn icon-btn--remove',
        'aria-label': `Remove certificate ${name}`,
        title: 'Remove',
      },
      '×',
    );
    remove.addEventListener('click', (event) => {
      event.stopPropagation();
      confirmDialog({
        title: 'Remove certificate',
        message: `“${name}” will be deleted and will no longer be used for TLS connections with the third party. Connections that need a client certificate will fail until you add another one.`,
        confirmLabel: 'Remove Certificate',
        action: async () => {
          await api('DELETE', `/vaults/${vault.id}/certificates/${c.id}`);
          changed();
        },
      });
    });
    const open = h(
      'button',
      { type: 'button', class: 'link-btn', 'aria-label': `Preview certificate ${name}` },
      name,
    );
    const row = h(
      'tr',
      { class: 'clickable' },
      h('td', { 'data-label': 'Description' }, open),
      h('td', { 'data-label': 'Proxy type' }, c.proxy_type === 'inbound' ? 'Inbound' : 'Outbound'),
      h('td', { 'data-label': 'Access credentials' }, association(c)),
      h(
        'td',
        { 'data-label': 'Expiration date' },
        h(
          'span',
          { class: 'expiry' },
          h('span', { class: 'date' }, formatDate(c.not_after)),
          ' ',
          statusBadge(c.status),
        ),
      ),
      h('td', { class: 'cell-actions' }, writable('certificate.write', remove)),
    );
    // The whole row opens the preview for pointer users; the description button does it for keyboards.
    row.addEventListener('click', () => openPreview(vault, c.id, changed));
    open.addEventListener('click', (event) => {
      event.stopPropagation();
      openPreview(vault, c.id, changed);
    });
    return row;
  });

  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'visually-hidden' }, `Mutual TLS certificates of ${vault.name}`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          h('th', { scope: 'col' }, 'Description'),
          h('th', { scope: 'col' }, 'Proxy type'),
          h('th', { scope: 'col' }, 'Access credentials'),
          h('th', { scope: 'col' }, 'Expiration date'),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}
