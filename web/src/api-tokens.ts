// The API tokens page (admin): create a token with a name, a role and an optional expiry; the token
// itself exists only in the create call's answer, so it is shown once, in a dialog, and kept in no
// storage. The list shows each token's role and when it was created, expires and was last used;
// deleting one (after a confirmation) ends its API calls and its dashboard sessions at once.

import { api, listPage } from './api.js';
import {
  clear,
  confirmDialog,
  copyButton,
  errorBox,
  field,
  formatDateTime,
  h,
  loading,
  openDialog,
  showFieldError,
} from './dom.js';
import { pager } from './pager.js';
import { roleBadge, signedInToken, writable } from './roles.js';
import type { ApiToken, CreatedApiToken, Role } from './types.js';

const ROLES: readonly { id: Role; label: string }[] = [
  { id: 'viewer', label: 'Viewer — reads everything, changes nothing' },
  {
    id: 'operator',
    label: 'Operator — also manages certificates, requests, credentials, routes and hostnames',
  },
  { id: 'admin', label: 'Admin — everything, including vaults, webhooks and tokens' },
];

/** A `datetime-local` value, read as UTC like every time on the dashboard, as ISO 8601. */
function expiryParam(value: string): string | undefined {
  return value === '' ? undefined : new Date(`${value}Z`).toISOString();
}

export function renderApiTokens(main: HTMLElement): void {
  const name = h('input', {
    type: 'text',
    name: 'name',
    required: true,
    maxlength: '100',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'ci-deploy',
  });
  const role = h('select', { name: 'role' }, ...ROLES.map((r) => h('option', { value: r.id }, r.label)));
  const expires = h('input', { type: 'datetime-local', name: 'expires_at' });
  const fName = field(
    'Name',
    name,
    'Letters, digits and . _ @ -, unique. Audit events name the token by it: token:<name>, dashboard:<name>.',
  );
  const fRole = field('Role', role);
  const fExpires = field('Expires (UTC, optional)', expires, 'Leave empty for a token that does not expire.');
  const general = h('div');
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Create token');
  const form = h(
    'form',
    { class: 'panel', novalidate: true, 'aria-label': 'New API token' },
    fName.wrap,
    fRole.wrap,
    fExpires.wrap,
    general,
    save,
  );
  const list = h('div', { 'aria-busy': 'true' }, loading('Loading API tokens…'));
  const pages = pager<ApiToken>({
    noun: 'API tokens',
    region: list,
    load: (cursor, limit) => listPage<ApiToken>('/api-tokens', { limit: String(limit), cursor }),
    show: (items) =>
      clear(
        list,
        table(items, () => pages.reload()),
      ),
    failed: (message) => clear(list, errorBox(message)),
  });
  clear(
    main,
    h(
      'div',
      { class: 'section-head' },
      h(
        'div',
        {},
        h('h2', {}, 'API tokens'),
        h(
          'p',
          { class: 'muted' },
          'Give each person and each script a token of its own, with the least role it needs: the audit log then names who did what, and one token can be deleted without rotating everyone’s.',
        ),
      ),
    ),
    writable('token.write', form),
    list,
    pages.nav,
  );

  const slots = [
    { control: name, slot: fName.error, field: 'name' },
    { control: role, slot: fRole.error, field: 'role' },
    { control: expires, slot: fExpires.error, field: 'expires_at' },
  ];
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const s of slots) showFieldError(s.control, s.slot, null);
    clear(general);
    if (name.value.trim() === '') {
      showFieldError(
        name,
        fName.error,
        'Give the token a name, such as the person or the script that uses it.',
      );
      name.focus();
      return;
    }
    const expiresAt = expiryParam(expires.value);
    save.disabled = true;
    api<CreatedApiToken>('POST', '/api-tokens', {
      name: name.value.trim(),
      role: role.value,
      ...(expiresAt ? { expires_at: expiresAt } : {}),
    }).then(
      (created) => {
        save.disabled = false;
        form.reset();
        pages.reload();
        showCreated(created);
      },
      (err: { message: string; field?: string }) => {
        save.disabled = false;
        const slot = slots.find((s) => s.field === err.field);
        if (slot) showFieldError(slot.control, slot.slot, err.message);
        else clear(general, errorBox(err.message));
      },
    );
  });
}

/** The token, once: a dialog with a copy button, and the warning that it cannot be shown again. */
function showCreated(created: CreatedApiToken): void {
  const value = h('input', {
    type: 'text',
    readonly: true,
    class: 'secret-input',
    spellcheck: 'false',
    autocomplete: 'off',
    'aria-label': 'New API token',
  });
  value.value = created.token;
  // When the clipboard is refused, the token is selected so that Ctrl+C (or the menu) copies it.
  const selectAll = (): void => {
    value.focus();
    value.select();
  };
  value.addEventListener('focus', selectAll);
  const handle = openDialog('API token created', [
    h(
      'div',
      { class: 'dialog__body' },
      h(
        'p',
        { class: 'alert alert--warning', role: 'status' },
        h('strong', {}, 'Copy the token now: it will not be shown again.'),
        ' vaultgate keeps only a keyed hash of it; if it is lost, delete it and create another.',
      ),
      h(
        'dl',
        { class: 'details' },
        h('dt', {}, 'Name'),
        h('dd', {}, created.name),
        h('dt', {}, 'Role'),
        h('dd', {}, roleBadge(created.role)),
        h('dt', {}, 'Expires'),
        h('dd', {}, created.expires_at ? formatDateTime(created.expires_at) : 'Never'),
        h('dt', {}, 'Token'),
        h(
          'dd',
          { class: 'secret-row' },
          value,
          copyButton('Copy', () => created.token, 'Copy token', selectAll),
        ),
      ),
      h(
        'div',
        { class: 'dialog__actions' },
        h(
          'button',
          { type: 'button', class: 'btn btn--primary', onclick: () => handle.close() },
          'Done, I saved it',
        ),
      ),
    ),
  ]);
  // The token is dropped from the page with the dialog.
  handle.dialog.addEventListener('close', () => (value.value = ''));
}

function table(items: ApiToken[], reload: () => void): HTMLElement {
  const me = signedInToken();
  const rows = items.map((t) => {
    const remove = h(
      'button',
      { type: 'button', class: 'btn btn--small btn--danger-ghost', 'aria-label': `Delete token ${t.name}` },
      'Delete',
    );
    remove.addEventListener('click', () =>
      confirmDialog({
        title: 'Delete API token',
        message:
          `Calls with “${t.name}” will be refused from now on, and dashboard sessions signed in with it end at once.` +
          (me?.id === t.id ? ' It is the token you are signed in with: you will be signed out.' : ''),
        confirmLabel: 'Delete Token',
        action: async () => {
          await api('DELETE', `/api-tokens/${t.id}`);
          reload();
        },
      }),
    );
    return h(
      'tr',
      {},
      h(
        'td',
        { 'data-label': 'Name' },
        t.name,
        me?.id === t.id ? h('span', { class: 'muted' }, ' (you)') : null,
      ),
      h('td', { 'data-label': 'Role' }, roleBadge(t.role)),
      h('td', { 'data-label': 'Created' }, formatDateTime(t.created_at)),
      h('td', { 'data-label': 'Expires' }, t.expires_at ? formatDateTime(t.expires_at) : 'Never'),
      h('td', { 'data-label': 'Last used' }, t.last_used_at ? formatDateTime(t.last_used_at) : 'Never'),
      h('td', { class: 'cell-actions' }, writable('token.write', remove)),
    );
  });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'visually-hidden' }, 'API tokens'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Name', 'Role', 'Created', 'Expires', 'Last used'].map((x) => h('th', { scope: 'col' }, x)),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}
