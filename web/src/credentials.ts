// Access credentials of the outbound proxy. The password exists only in the create call's answer, so
// it is shown once here, kept in no storage, and gone when the page is left or redrawn.

import { api, download, listPage } from './api.js';
import { clear, confirmDialog, copyButton, errorBox, field, formatDate, h, loading } from './dom.js';
import { pager } from './pager.js';
import { writable } from './roles.js';
import type { Credential, Vault } from './types.js';

/** The SPEC §1 default, used only if GET /info cannot be read. */
const DEFAULT_OUTBOUND_PORT = 8080;
let outboundPort: Promise<number> | undefined;

/** The outbound proxy's real port, asked of the API once per page load. */
function loadOutboundPort(): Promise<number> {
  outboundPort ??= api<{ outbound_port: number }>('GET', '/info').then(
    (info) => info.outbound_port,
    () => DEFAULT_OUTBOUND_PORT,
  );
  return outboundPort;
}

export function proxyLine(username: string, password: string, port: number): string {
  return `HTTPS_PROXY=http://${username}:${password}@${location.hostname}:${port}`;
}

export function renderCredentials(main: HTMLElement, vault: Vault): void {
  const base = `/vaults/${vault.id}/credentials`;
  const descriptionInput = h('input', {
    type: 'text',
    name: 'description',
    maxlength: '500',
    placeholder: 'checkout service',
  });
  const descField = field('Description (optional)', descriptionInput);
  const generate = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Generate credential');
  const caButton = h('button', { type: 'button', class: 'btn' }, 'Download outbound CA');
  const created = h('div', { 'aria-live': 'polite' });
  const list = h('div', { 'aria-busy': 'true' }, loading('Loading access credentials…'));
  const caError = h('div');

  const form = h('form', { class: 'inline-form', novalidate: true }, descField.wrap, generate);
  const pages = pager<Credential>({
    noun: 'access credentials',
    region: list,
    load: (cursor, limit) => listPage<Credential>(base, { limit: String(limit), cursor }),
    show: (items, state) =>
      clear(
        list,
        table(vault, items, state.first, () => pages.reload()),
      ),
    failed: (message) => clear(list, errorBox(message)),
  });
  const load = (): void => pages.reload();
  clear(
    main,
    h(
      'div',
      { class: 'section-head' },
      h(
        'div',
        {},
        h('h2', {}, 'Access credentials'),
        h(
          'p',
          { class: 'muted' },
          'Your applications authenticate to the outbound proxy with these, and must trust the vault’s outbound CA.',
        ),
      ),
      caButton,
    ),
    caError,
    writable('credential.write', form),
    created,
    list,
    pages.nav,
  );

  caButton.addEventListener('click', () => {
    clear(caError);
    download(`/vaults/${vault.id}/outbound-ca`, `vaultgate-outbound-ca-${vault.id}.pem`).catch((err: Error) =>
      clear(caError, errorBox(err.message)),
    );
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    generate.disabled = true;
    const description = descriptionInput.value.trim();
    Promise.all([api<Credential>('POST', base, description ? { description } : {}), loadOutboundPort()]).then(
      ([c, port]) => {
        generate.disabled = false;
        descriptionInput.value = '';
        clear(
          created,
          secretPanel(c, port, () => clear(created)),
        );
        load();
      },
      (err: Error) => {
        generate.disabled = false;
        clear(created, errorBox(err.message));
      },
    );
  });
}

function secretPanel(c: Credential, port: number, dismiss: () => void): HTMLElement {
  const password = c.password ?? '';
  const line = proxyLine(c.username, password, port);
  const item = (label: string, value: string, copyName: string): HTMLElement[] => [
    h('dt', {}, label),
    h(
      'dd',
      { class: 'secret-row' },
      h('code', { class: 'break' }, value),
      copyButton('Copy', () => value, copyName),
    ),
  ];
  return h(
    'section',
    { class: 'alert alert--success secret', 'aria-label': 'New access credential' },
    h('h3', {}, 'Credential generated'),
    h(
      'p',
      {},
      h('strong', {}, 'Copy the password now: it is shown only once'),
      ' and vaultgate keeps only a hash of it.',
    ),
    h(
      'dl',
      { class: 'details' },
      ...item('Username', c.username, 'Copy username'),
      ...item('Password', password, 'Copy password'),
      ...item('Proxy', line, 'Copy HTTPS_PROXY line'),
    ),
    h(
      'p',
      { class: 'field__hint' },
      `Uses the default outbound port ${DEFAULT_OUTBOUND_PORT}; change it if VAULTGATE_OUTBOUND_PORT is set.`,
    ),
    h('button', { type: 'button', class: 'btn', onclick: dismiss }, 'Done, I saved it'),
  );
}

function table(vault: Vault, items: Credential[], first: boolean, reload: () => void): HTMLElement {
  if (items.length === 0 && first) {
    return h(
      'div',
      { class: 'empty' },
      h('p', { class: 'empty__title' }, 'No access credentials yet'),
      h('p', { class: 'muted' }, 'Generate one for each application that uses the outbound proxy.'),
    );
  }
  const path = (c: Credential): string => `/vaults/${vault.id}/credentials/${c.id}`;
  const rows = items.map((c) => {
    const next = c.status === 'active' ? 'inactive' : 'active';
    const toggle = h(
      'button',
      {
        type: 'button',
        class: 'btn btn--small',
        'aria-label': `${c.status === 'active' ? 'Deactivate' : 'Activate'} ${c.username}`,
      },
      c.status === 'active' ? 'Deactivate' : 'Activate',
    );
    toggle.addEventListener('click', () => {
      toggle.disabled = true;
      api('PATCH', path(c), { status: next }).then(reload, (err: Error) => {
        toggle.disabled = false;
        toggle.after(errorBox(err.message));
      });
    });
    const remove = h(
      'button',
      { type: 'button', class: 'btn btn--small btn--danger-ghost', 'aria-label': `Delete ${c.username}` },
      'Delete',
    );
    remove.addEventListener('click', () =>
      confirmDialog({
        title: 'Delete access credential',
        message: `Applications using ${c.username} will get 407 from the outbound proxy. A credential with certificates tied to it cannot be deleted; remove those certificates first.`,
        confirmLabel: 'Delete Credential',
        action: async () => {
          await api('DELETE', path(c));
          reload();
        },
      }),
    );
    return h(
      'tr',
      {},
      h('td', { 'data-label': 'Username' }, h('code', { class: 'break' }, c.username)),
      h('td', { 'data-label': 'Description' }, c.description ?? '—'),
      h(
        'td',
        { 'data-label': 'Status' },
        h('span', { class: `badge badge--${c.status === 'active' ? 'valid' : 'muted'}` }, c.status),
      ),
      h('td', { 'data-label': 'Created' }, formatDate(c.created_at)),
      h(
        'td',
        { class: 'cell-actions' },
        writable('credential.write', toggle),
        writable('credential.write', remove),
      ),
    );
  });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'visually-hidden' }, `Access credentials of ${vault.name}`),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Username', 'Description', 'Status', 'Created'].map((t) => h('th', { scope: 'col' }, t)),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}
