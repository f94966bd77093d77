// The Audit log page (admin and operator): who changed what, from which address, newest first, one
// page at a time, filtered by actor, action and time (GET /audit-events). Instance-wide, like the
// Notifications page; "Only this vault" narrows it to the vault that is open.

import { listPage } from './api.js';
import { clear, errorBox, field, h, loading, newId } from './dom.js';
import { pager } from './pager.js';
import type { AuditEvent, Vault } from './types.js';

/** Suggestions for the action filter; the API accepts any action name. */
const ACTIONS = [
  'session.signed_in',
  'session.sign_in_failed',
  'session.signed_out',
  'api_token.created',
  'api_token.deleted',
  'api_token.replaced',
  'vault.created',
  'vault.updated',
  'vault.deleted',
  'certificate.created',
  'certificate.updated',
  'certificate.deleted',
  'certificate_request.created',
  'certificate_request.deleted',
  'credential.created',
  'credential.updated',
  'credential.deleted',
  'route.created',
  'route.updated',
  'route.deleted',
  'hostname.created',
  'hostname.updated',
  'hostname.deleted',
  'webhook.created',
  'webhook.deleted',
];

/** To the second, in UTC: events of one minute are told apart. */
function timeText(iso: string): string {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A `datetime-local` value, read as UTC (every time on the dashboard is UTC), as ISO 8601. */
function sinceParam(value: string): string | null {
  if (value === '') return null;
  const at = new Date(`${value}Z`);
  return Number.isNaN(at.getTime()) ? null : at.toISOString();
}

export function renderAuditLog(main: HTMLElement, vault: Vault): void {
  const actor = h('input', {
    type: 'text',
    name: 'actor',
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: 'token:ci-deploy',
  });
  const actions = h(
    'datalist',
    { id: newId('audit-actions') },
    ...ACTIONS.map((a) => h('option', { value: a })),
  );
  const action = h('input', {
    type: 'text',
    name: 'action',
    spellcheck: 'false',
    autocomplete: 'off',
    list: actions.id,
    placeholder: 'certificate.deleted',
  });
  const since = h('input', { type: 'datetime-local', name: 'since', step: '1' });
  const onlyVault = h('input', { type: 'checkbox', id: newId('audit-vault'), name: 'vault' });
  const fActor = field('Actor', actor);
  const fAction = field('Action', action);
  const fSince = field('Since (UTC)', since);
  const apply = h('button', { type: 'submit', class: 'btn' }, 'Filter');
  const reset = h('button', { type: 'button', class: 'btn' }, 'Clear filters');
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Filter audit events', novalidate: true },
    fActor.wrap,
    fAction.wrap,
    fSince.wrap,
    h('div', { class: 'field checkbox' }, onlyVault, h('label', { for: onlyVault.id }, `Only ${vault.name}`)),
    actions,
    h('div', { class: 'button-row' }, apply, reset),
  );

  const results = h('div', { 'aria-busy': 'true' }, loading('Loading audit events…'));
  const params = (): Record<string, string | null> => ({
    actor: actor.value.trim() || null,
    action: action.value.trim() || null,
    since: sinceParam(since.value),
    vault_id: onlyVault.checked ? vault.id : null,
  });
  const list = pager<AuditEvent>({
    noun: 'events',
    region: results,
    load: (cursor, limit) =>
      listPage<AuditEvent>('/audit-events', { ...params(), limit: String(limit), cursor }),
    show: (events, state) => clear(results, events.length === 0 && state.first ? empty() : table(events)),
    failed: (message) => clear(results, errorBox(message)),
  });

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    list.restart();
  });
  onlyVault.addEventListener('change', () => list.restart());
  reset.addEventListener('click', () => {
    form.reset();
    list.restart();
  });

  clear(
    main,
    h(
      'div',
      { class: 'section-head' },
      h(
        'div',
        {},
        h('h2', {}, 'Audit log'),
        h(
          'p',
          { class: 'muted' },
          'Every change, sign-in and failed sign-in, with the token that made it and the address it came from; newest first.',
        ),
        h(
          'p',
          { class: 'muted' },
          'Actors are token:<name> (a call with that API token), dashboard:<name> (a dashboard session signed in with it), anonymous (a failed sign-in) and system (vaultgate itself); the actor filter takes one exactly.',
        ),
      ),
    ),
    form,
    results,
    list.nav,
  );
}

function empty(): HTMLElement {
  return h(
    'div',
    { class: 'empty' },
    h('p', { class: 'empty__title' }, 'No audit events match'),
    h('p', { class: 'muted' }, 'Try another actor or action, an earlier time, or clear the filters.'),
  );
}

function table(events: AuditEvent[]): HTMLElement {
  const cell = (label: string, value: string | null, code = false): HTMLElement =>
    h(
      'td',
      { 'data-label': label },
      value === null ? '—' : code ? h('code', { class: 'break' }, value) : value,
    );
  const rows = events.map((e) =>
    h(
      'tr',
      {},
      h('td', { 'data-label': 'Time' }, h('time', { datetime: e.at }, timeText(e.at))),
      cell('Actor', e.actor),
      cell('Address', e.client_address, true),
      cell('Action', e.action, true),
      cell('Vault', e.vault_id, true),
      cell('Target', e.target_id, true),
    ),
  );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'visually-hidden' }, 'Audit events, newest first'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Time', 'Actor', 'Address', 'Action', 'Vault', 'Target'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}
