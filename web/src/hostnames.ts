// Vault Settings → Hostnames: the custom hostnames the inbound proxy answers on with the user's own
// server certificate, their caller mTLS, and the default hostname's caller mTLS. Add, preview,
// replace (a renewed certificate, without a gap) and removal with confirmation.

import { api, listPage } from './api.js';
import { defaultHostnamePanel } from './default-hostname.js';
import { clear, confirmDialog, errorBox, formatDate, h, loading } from './dom.js';
import { expiryBanner, findExpiring } from './expiry.js';
import { modeText, statusBadge, warningText } from './format.js';
import { openHostnameForm } from './hostname-form.js';
import { openHostnamePreview } from './hostname-preview.js';
import { pager } from './pager.js';
import { allowed, writable } from './roles.js';
import type { Hostname, Vault } from './types.js';

export function renderHostnames(main: HTMLElement, vault: Vault, notice?: Node): void {
  const add = h('button', { type: 'button', class: 'btn btn--primary' }, 'Add Hostname');
  const body = h('div', { 'aria-busy': 'true' }, loading('Loading hostnames…'));
  const banner = h('div');
  const refresh = (afterSave?: Node): void => renderHostnames(main, vault, afterSave);
  const pages = pager<Hostname>({
    noun: 'hostnames',
    region: body,
    load: (cursor, limit) =>
      listPage<Hostname>(`/vaults/${vault.id}/hostnames`, { limit: String(limit), cursor }),
    show: (items, state) => clear(body, listView(vault, items, state.first, refresh)),
    failed: (message) => clear(body, errorBox(message)),
  });
  clear(
    main,
    h(
      'div',
      { class: 'section-head' },
      h(
        'div',
        {},
        h('h2', {}, 'Hostnames'),
        h(
          'p',
          { class: 'muted' },
          'Custom hostnames the inbound proxy answers on, each with your own server certificate (the one a card network trusts), and the client certificates it asks of callers.',
        ),
      ),
      writable('hostname.write', add),
    ),
    notice,
    banner,
    body,
    pages.nav,
    defaultHostnamePanel(vault),
  );

  add.addEventListener('click', () =>
    openHostnameForm(vault, undefined, (saved) => refresh(savedNotice(saved, 'added'))),
  );
  findExpiring(vault, { certificates: false }).then(
    (found) => clear(banner, expiryBanner(found)),
    () => undefined, // the hostnames read failed: the list says why
  );
}

function savedNotice(saved: Hostname, verb: 'added' | 'replaced'): HTMLElement {
  const warnings = saved.warnings ?? [];
  return h(
    'div',
    { class: warnings.length ? 'alert alert--warning' : 'alert alert--success', role: 'status' },
    h(
      'p',
      {},
      verb === 'added'
        ? `Hostname “${saved.hostname}” added.`
        : `Certificate of “${saved.hostname}” replaced; it is valid until ${formatDate(saved.not_after)}.`,
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

function listView(
  vault: Vault,
  items: Hostname[],
  first: boolean,
  refresh: (notice?: Node) => void,
): HTMLElement {
  if (items.length === 0 && first) {
    return h(
      'div',
      { class: 'empty' },
      h('p', { class: 'empty__title' }, 'No custom hostnames yet'),
      allowed('hostname.write')
        ? h(
            'p',
            { class: 'muted' },
            'Use “Add Hostname” to serve a name of your own (like callbacks.acme.example) with its certificate.',
          )
        : null,
    );
  }
  const rows = items.map((x) => {
    const replace = h(
      'button',
      { type: 'button', class: 'btn btn--small', 'aria-label': `Replace certificate of ${x.hostname}` },
      'Replace',
    );
    replace.addEventListener('click', (event) => {
      event.stopPropagation();
      openHostnameForm(vault, x, (saved) => refresh(savedNotice(saved, 'replaced')));
    });
    const remove = h(
      'button',
      {
        type: 'button',
        class: 'icon-btn icon-btn--remove',
        'aria-label': `Remove hostname ${x.hostname}`,
        title: 'Remove',
      },
      '×',
    );
    remove.addEventListener('click', (event) => {
      event.stopPropagation();
      confirmDialog({
        title: 'Remove hostname',
        message: `vaultgate will stop answering on “${x.hostname}” and its server certificate will be deleted. Callers using this name will fail their TLS handshake until you add it again.`,
        confirmLabel: 'Remove Hostname',
        action: async () => {
          await api('DELETE', `/vaults/${vault.id}/hostnames/${x.id}`);
          refresh();
        },
      });
    });
    const open = h(
      'button',
      { type: 'button', class: 'link-btn', 'aria-label': `Preview hostname ${x.hostname}` },
      x.hostname,
    );
    const cas = x.client_auth.ca_subjects?.length ?? 0;
    const row = h(
      'tr',
      { class: 'clickable' },
      h('td', { 'data-label': 'Hostname' }, open),
      h('td', { 'data-label': 'Subject' }, x.subject),
      h('td', { 'data-label': 'Signer' }, x.issuer),
      h(
        'td',
        { 'data-label': 'Expiration date' },
        h(
          'span',
          { class: 'expiry' },
          h('span', { class: 'date' }, formatDate(x.not_after)),
          ' ',
          statusBadge(x.status),
        ),
      ),
      h(
        'td',
        { 'data-label': 'Caller mTLS' },
        h(
          'span',
          {},
          modeText(x.client_auth.mode),
          x.client_auth.mode !== 'off' && cas > 0
            ? h('span', { class: 'muted' }, cas === 1 ? ' · 1 CA' : ` · ${cas} CAs`)
            : null,
        ),
      ),
      h(
        'td',
        { class: 'cell-actions cell-actions--two' },
        writable('hostname.write', replace),
        writable('hostname.write', remove),
      ),
    );
    // As on the certificates tab: the row opens the preview for pointers, the name button for keyboards.
    row.addEventListener('click', () => openHostnamePreview(vault, x.id));
    open.addEventListener('click', (event) => {
      event.stopPropagation();
      openHostnamePreview(vault, x.id);
    });
    return row;
  });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'visually-hidden' }, `Hostnames of ${vault.name}`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Hostname', 'Subject', 'Signer', 'Expiration date', 'Caller mTLS'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}
