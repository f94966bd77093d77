// The signed-in frame: header with the vault picker, who is signed in and sign-out, the Vault
// Settings tabs, and hash routing (#/<vault id>/<page>) so a reload or a shared link lands on the
// same screen. Tabs and controls the session's role may not use are not drawn (roles.ts).

import { api, firstItems, setCsrfToken } from './api.js';
import { renderApiTokens } from './api-tokens.js';
import { renderAuditLog } from './audit-log.js';
import { renderCertificates } from './certificates.js';
import { renewalPanel } from './expiry.js';
import { renderCredentials } from './credentials.js';
import { clear, errorBox, field, h, loading, openDialog, showFieldError } from './dom.js';
import { renderHostnames } from './hostnames.js';
import { renderNotifications } from './notifications.js';
import { allowed, roleBadge, writable, type Action } from './roles.js';
import { renderRoutes } from './routes.js';
import type { SessionToken, Vault } from './types.js';

interface Page {
  id: string;
  label: string;
  render(main: HTMLElement, vault: Vault): void;
  /** Shown only to roles that may do this (roles.ts); every role sees the others. */
  only?: Action;
}

/** The first tab, which every role sees: where an address without a (visible) page lands. */
const CERTIFICATES: Page = {
  id: 'certificates',
  label: 'Mutual TLS Certificates',
  render: renderCertificates,
};

const PAGES: readonly Page[] = [
  CERTIFICATES,
  { id: 'credentials', label: 'Access credentials', render: renderCredentials },
  { id: 'routes', label: 'Routes', render: renderRoutes },
  { id: 'hostnames', label: 'Hostnames', render: renderHostnames },
  // Instance-wide (webhooks hear about every vault, the audit log and tokens span them all): the
  // same page under whichever vault is open.
  { id: 'notifications', label: 'Notifications', render: renderNotifications },
  { id: 'audit', label: 'Audit log', render: renderAuditLog, only: 'audit.page' },
  { id: 'tokens', label: 'API tokens', render: renderApiTokens, only: 'tokens.page' },
];

function visiblePages(): Page[] {
  return PAGES.filter((p) => p.only === undefined || allowed(p.only));
}

/** The page of the address; one this role may not see opens the certificates instead. */
function parseHash(): { vaultId: string | undefined; page: Page } {
  const [, vaultId, page] = location.hash.split('/');
  const known = visiblePages().find((p) => p.id === page) ?? CERTIFICATES;
  return { vaultId: vaultId || undefined, page: known };
}

export function startShell(root: HTMLElement, token: SessionToken, onSignedOut: () => void): void {
  const picker = h('select', { id: 'vault-picker', class: 'vault-picker__select' });
  const signOut = h('button', { type: 'button', class: 'btn btn--ghost' }, 'Sign out');
  const newVault = h('button', { type: 'button', class: 'btn' }, 'New vault');
  const who = h(
    'p',
    { class: 'topbar__who', id: 'signed-in-as' },
    h('span', { class: 'visually-hidden' }, 'Signed in as '),
    h('span', { class: 'topbar__name' }, token.name),
    ' ',
    roleBadge(token.role),
  );
  const nav = h('nav', { class: 'tabs', 'aria-label': 'Vault Settings' });
  const main = h('main', { class: 'content', id: 'content', tabindex: '-1' });
  const vaultInfo = h('div', { class: 'vault-head' });
  let vaults: Vault[] = [];

  const header = h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'topbar__brand' }, h('span', { class: 'logo', 'aria-hidden': 'true' }), 'vaultgate'),
    h(
      'div',
      { class: 'vault-picker' },
      h('label', { for: picker.id, class: 'vault-picker__label' }, 'Vault'),
      picker,
      writable('vault.write', newVault),
    ),
    h('div', { class: 'topbar__session' }, who, signOut),
  );
  clear(root, header, h('div', { class: 'page' }, vaultInfo, nav, main));

  const route = (): void => {
    const { vaultId, page } = parseHash();
    const vault = vaults.find((v) => v.id === vaultId) ?? vaults[0];
    if (!vault) {
      clear(vaultInfo);
      clear(nav);
      clear(
        main,
        h(
          'div',
          { class: 'empty' },
          h('p', {}, 'No vaults yet.'),
          h('p', {}, allowed('vault.write') ? 'Create one with “New vault”.' : 'An admin can create one.'),
        ),
      );
      return;
    }
    if (vault.id !== vaultId || !location.hash.endsWith(`/${page.id}`)) {
      history.replaceState(null, '', `#/${vault.id}/${page.id}`);
    }
    picker.value = vault.id;
    clear(
      vaultInfo,
      h('p', { class: 'eyebrow' }, 'Vault Settings'),
      h('h1', {}, vault.name, ' ', h('span', { class: 'vault-id' }, vault.id)),
      h('p', { class: 'muted' }, `${vault.environment} · inbound host `, h('code', {}, vault.inbound_host)),
      renewalPanel(vault, () => {
        // The new request waits in the Certificates tab's pending list.
        const target = `#/${vault.id}/certificates`;
        if (location.hash === target) route();
        else location.hash = target;
      }),
    );
    clear(
      nav,
      ...visiblePages().map((p) =>
        h(
          'a',
          { href: `#/${vault.id}/${p.id}`, class: 'tab', 'aria-current': p === page ? 'page' : false },
          p.label,
        ),
      ),
    );
    document.title = `${page.label} · ${vault.name} · vaultgate`;
    page.render(main, vault);
  };

  const loadVaults = async (selectId?: string): Promise<void> => {
    clear(main, loading('Loading vaults…'));
    try {
      // The picker lists the first 1,000 vaults; a vault beyond them opens from its address.
      const found = await firstItems<Vault>('/vaults');
      vaults = found.items;
      const wanted = parseHash().vaultId ?? selectId;
      if (found.more && wanted && !vaults.some((v) => v.id === wanted)) {
        const named = await api<Vault>('GET', `/vaults/${encodeURIComponent(wanted)}`).catch(() => null);
        if (named) vaults.push(named);
      }
    } catch (err) {
      clear(main, errorBox((err as Error).message));
      return;
    }
    clear(picker, ...vaults.map((v) => h('option', { value: v.id }, `${v.name} (${v.id})`)));
    if (selectId) location.hash = `#/${selectId}/${parseHash().page.id}`;
    route();
  };

  picker.addEventListener('change', () => {
    location.hash = `#/${picker.value}/${parseHash().page.id}`;
  });
  window.addEventListener('hashchange', () => {
    if (root.contains(main)) route();
  });
  signOut.addEventListener('click', () => {
    // Sign-out clears the cookie server-side; whatever the answer, forget our CSRF token.
    api('DELETE', '/session')
      .catch(() => undefined)
      .finally(() => {
        setCsrfToken(null);
        history.replaceState(null, '', location.pathname);
        onSignedOut();
      });
  });
  newVault.addEventListener('click', () => openNewVault((v) => void loadVaults(v.id)));
  void loadVaults();
}

function openNewVault(onCreated: (vault: Vault) => void): void {
  const name = h('input', { type: 'text', name: 'name', required: true, maxlength: '200' });
  const env = h(
    'select',
    { name: 'environment' },
    h('option', { value: 'sandbox' }, 'Sandbox'),
    h('option', { value: 'live' }, 'Live'),
  );
  const nameField = field('Name', name);
  const envField = field('Environment', env, 'Part of the vault’s inbound host name.');
  const general = h('div', { class: 'dialog__error' });
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Create vault');
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    nameField.wrap,
    envField.wrap,
    general,
    h(
      'div',
      { class: 'dialog__actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => handle.close() }, 'Cancel'),
      save,
    ),
  );
  const handle = openDialog('New vault', [form]);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    save.disabled = true;
    showFieldError(name, nameField.error, null);
    clear(general);
    api<Vault>('POST', '/vaults', { name: name.value.trim(), environment: env.value }).then(
      (vault) => {
        handle.close();
        onCreated(vault);
      },
      (err: { message: string; field?: string }) => {
        save.disabled = false;
        if (err.field === 'name' || name.value.trim() === '')
          showFieldError(name, nameField.error, err.message);
        else clear(general, errorBox(err.message));
      },
    );
  });
}
