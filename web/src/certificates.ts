// Vault Settings → Mutual TLS Certificates: the table, the expiry banner (which also covers the
// server certificates of hostnames), the preview and removal.

import { api } from './api.js';
import { openAddCertificate } from './certificate-form.js';
import { openPreview } from './certificate-preview.js';
import { clear, confirmDialog, errorBox, formatDate, h, loading } from './dom.js';
import { expiryBanner } from './expiry.js';
import { certificateName, routeName, statusBadge, warningText } from './format.js';
import type { Certificate, Credential, Hostname, Route, Vault } from './types.js';

export function renderCertificates(main: HTMLElement, vault: Vault, notice?: Node): void {
  const base = `/vaults/${vault.id}`;
  const add = h('button', { type: 'button', class: 'btn btn--primary' }, 'Add Certificate');
  const body = h('div', { 'aria-busy': 'true' }, loading('Loading certificates…'));
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
      add,
    ),
    notice,
    body,
  );

  const refresh = (afterSave?: Node): void => renderCertificates(main, vault, afterSave);

  Promise.all([
    api<Certificate[]>('GET', `${base}/certificates`),
    api<Credential[]>('GET', `${base}/credentials`),
    api<Route[]>('GET', `${base}/routes`),
    // Only for the banner: a failure here must not hide the client certificates, but is said aloud,
    // since a silent gap would be a missed expiry.
    api<Hostname[]>('GET', `${base}/hostnames`).then(
      (list) => ({ list, error: null }),
      (err: Error) => ({ list: [] as Hostname[], error: err.message }),
    ),
  ]).then(
    ([certs, credentials, routes, hostnames]) => {
      body.removeAttribute('aria-busy');
      add.addEventListener('click', () =>
        openAddCertificate(vault, credentials, routes, (saved) => refresh(savedNotice(saved))),
      );
      clear(
        body,
        expiryBanner(certs, hostnames.list),
        hostnames.error
          ? h(
              'p',
              { class: 'alert alert--warning', role: 'status' },
              `The server certificates of hostnames could not be checked for expiry: ${hostnames.error}`,
            )
          : null,
        ...listView(vault, certs, credentials, routes, () => refresh()),
      );
    },
    (err: Error) => {
      body.removeAttribute('aria-busy');
      clear(body, errorBox(err.message));
    },
  );
}

function savedNotice(saved: Certificate): HTMLElement {
  const warnings = saved.warnings ?? [];
  return h(
    'div',
    { class: warnings.length ? 'alert alert--warning' : 'alert alert--success', role: 'status' },
    h('p', {}, `Certificate “${certificateName(saved)}” added.`),
    warnings.length
      ? h(
          'ul',
          { class: 'warnings', 'aria-label': 'Warnings' },
          ...warnings.map((w) => h('li', {}, warningText(w))),
        )
      : null,
  );
}

function listView(
  vault: Vault,
  certs: Certificate[],
  credentials: Credential[],
  routes: Route[],
  refresh: () => void,
): Node[] {
  if (certs.length === 0) {
    return [
      h(
        'div',
        { class: 'empty' },
        h('p', { class: 'empty__title' }, 'No certificates yet — add the one your card network issued you'),
        h('p', { class: 'muted' }, 'Use “Add Certificate” to upload a PEM pair or a .p12/.pfx file.'),
      ),
    ];
  }
  const association = (c: Certificate): string => {
    if (c.proxy_type === 'outbound') {
      const cred = credentials.find((x) => x.id === c.credential_id);
      return cred ? cred.description || cred.username : (c.credential_id ?? '—');
    }
    const route = routes.find((r) => r.id === c.route_id);
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
          refresh();
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
      h('td', { class: 'cell-actions' }, remove),
    );
    // The whole row opens the preview for pointer users; the description button does it for keyboards.
    row.addEventListener('click', () => openPreview(vault, c.id));
    open.addEventListener('click', (event) => {
      event.stopPropagation();
      openPreview(vault, c.id);
    });
    return row;
  });

  const table = h(
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
  return [table];
}
