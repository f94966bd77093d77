// The Notifications page: webhooks vaultgate POSTs certificate events to (docs/notifications.md), and
// each one's deliveries. Webhooks are instance-wide, so the page is the same under every vault. The
// signing secret exists only in the create call's answer: shown once here, kept in no storage.

import { api, listPage } from './api.js';
import {
  clear,
  confirmDialog,
  copyButton,
  errorBox,
  field,
  formatDate,
  formatDateTime,
  h,
  loading,
  newId,
  openDialog,
  showFieldError,
} from './dom.js';
import { pager } from './pager.js';
import { writable } from './roles.js';
import type { Webhook, WebhookDelivery, WebhookEvent } from './types.js';

const EVENTS: readonly { id: WebhookEvent; label: string; checked: boolean }[] = [
  { id: 'certificate.expiring', label: 'A certificate nears its end (at each “days before”)', checked: true },
  { id: 'certificate.expired', label: 'A certificate has expired', checked: true },
  { id: 'certificate.created', label: 'A certificate was added', checked: false },
  { id: 'certificate.deleted', label: 'A certificate was deleted', checked: false },
  { id: 'certificate_request.created', label: 'A certificate request was created', checked: false },
  { id: 'hostname.expiring', label: 'A hostname’s server certificate nears its end', checked: false },
];

/** "30, 7, 1" → [30, 7, 1]; anything that is not a list of whole numbers → null. */
function parseDays(text: string): number[] | null {
  const parts = text.split(',').map((p) => p.trim());
  if (parts.some((p) => !/^\d{1,3}$/.test(p))) return null;
  return parts.map(Number);
}

export function renderNotifications(main: HTMLElement): void {
  const url = h('input', {
    type: 'url',
    name: 'url',
    required: true,
    maxlength: '2048',
    placeholder: 'https://hooks.example.com/vaultgate',
    spellcheck: 'false',
  });
  const days = h('input', { type: 'text', name: 'days_before', value: '30, 7, 1', inputmode: 'numeric' });
  const description = h('input', { type: 'text', name: 'description', maxlength: '500' });
  const fUrl = field('Receiver URL', url, 'vaultgate POSTs each event here, signed with the secret.');
  const fDays = field('Days before expiry', days, 'When “nears its end” fires: whole days, comma-separated.');
  const fDescription = field('Description (optional)', description);
  const boxes = EVENTS.map((e) =>
    h('input', { type: 'checkbox', id: newId('event'), value: e.id, checked: e.checked }),
  );
  const eventsError = h('p', { class: 'field__error', hidden: true, id: newId('events-error') });
  const eventsSet = h(
    'fieldset',
    { class: 'fieldset', 'aria-describedby': eventsError.id },
    h('legend', {}, 'Events'),
    ...boxes.map((box, i) =>
      h('div', { class: 'field checkbox' }, box, h('label', { for: box.id }, EVENTS[i]?.label ?? '')),
    ),
    eventsError,
  );
  const general = h('div');
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Create webhook');
  const form = h(
    'form',
    { class: 'panel', novalidate: true, 'aria-label': 'New webhook' },
    fUrl.wrap,
    eventsSet,
    fDays.wrap,
    fDescription.wrap,
    general,
    save,
  );
  const created = h('div', { 'aria-live': 'polite' });
  const list = h('div', { 'aria-busy': 'true' }, loading('Loading webhooks…'));
  const pages = pager<Webhook>({
    noun: 'webhooks',
    region: list,
    load: (cursor, limit) => listPage<Webhook>('/webhooks', { limit: String(limit), cursor }),
    show: (items, state) =>
      clear(
        list,
        table(items, state.first, () => pages.reload()),
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
        h('h2', {}, 'Notifications'),
        h(
          'p',
          { class: 'muted' },
          'Webhooks hear about the certificates of every vault: before they expire, when they expire, and when they are added or deleted.',
        ),
      ),
    ),
    writable('webhook.write', form),
    created,
    list,
    pages.nav,
  );

  const errorSlots = [
    { control: url, slot: fUrl.error, fields: ['url'] },
    { control: days, slot: fDays.error, fields: ['days_before'] },
    { control: eventsSet, slot: eventsError, fields: ['events'] },
  ];
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    for (const { control, slot } of errorSlots) showFieldError(control, slot, null);
    clear(general);
    const events = boxes.filter((b) => b.checked).map((b) => b.value);
    const daysBefore = parseDays(days.value);
    if (events.length === 0) {
      showFieldError(eventsSet, eventsError, 'Choose at least one event.');
      return;
    }
    if (daysBefore === null) {
      showFieldError(days, fDays.error, 'Enter whole days separated by commas, such as 30, 7, 1.');
      return;
    }
    save.disabled = true;
    const body = {
      url: url.value.trim(),
      events,
      days_before: daysBefore,
      ...(description.value.trim() ? { description: description.value.trim() } : {}),
    };
    api<Webhook>('POST', '/webhooks', body).then(
      (webhook) => {
        save.disabled = false;
        url.value = '';
        description.value = '';
        clear(
          created,
          secretPanel(webhook, () => clear(created)),
        );
        pages.reload();
      },
      (err: { message: string; field?: string }) => {
        save.disabled = false;
        const slot = errorSlots.find((s) => s.fields.some((f) => err.field?.startsWith(f)));
        if (slot) showFieldError(slot.control, slot.slot, err.message);
        else clear(general, errorBox(err.message));
      },
    );
  });
}

function secretPanel(webhook: Webhook, dismiss: () => void): HTMLElement {
  const secret = webhook.secret ?? '';
  return h(
    'section',
    { class: 'alert alert--success secret', 'aria-label': 'New webhook secret' },
    h('h3', {}, 'Webhook created'),
    h(
      'p',
      {},
      h('strong', {}, 'Copy the signing secret now: it is shown only once.'),
      ' Your receiver checks each delivery’s x-vaultgate-signature with it.',
    ),
    h(
      'dl',
      { class: 'details' },
      h('dt', {}, 'Secret'),
      h(
        'dd',
        { class: 'secret-row' },
        h('code', { class: 'break' }, secret),
        copyButton('Copy', () => secret, 'Copy secret'),
      ),
    ),
    h('button', { type: 'button', class: 'btn', onclick: dismiss }, 'Done, I saved it'),
  );
}

function table(items: Webhook[], first: boolean, reload: () => void): HTMLElement {
  if (items.length === 0 && first) {
    return h(
      'div',
      { class: 'empty' },
      h('p', { class: 'empty__title' }, 'No webhooks yet'),
      h('p', { class: 'muted' }, 'Add one so that nobody learns of an expired certificate from an outage.'),
    );
  }
  const rows = items.map((w) => {
    const deliveries = h(
      'button',
      { type: 'button', class: 'btn btn--small', 'aria-label': `Deliveries of ${w.url}` },
      'Deliveries',
    );
    deliveries.addEventListener('click', () => openDeliveries(w));
    const remove = h(
      'button',
      { type: 'button', class: 'btn btn--small btn--danger-ghost', 'aria-label': `Delete webhook ${w.url}` },
      'Delete',
    );
    remove.addEventListener('click', () =>
      confirmDialog({
        title: 'Delete webhook',
        message: `${w.url} will get no more events, and its delivery history is deleted with it.`,
        confirmLabel: 'Delete Webhook',
        action: async () => {
          await api('DELETE', `/webhooks/${w.id}`);
          reload();
        },
      }),
    );
    return h(
      'tr',
      {},
      h(
        'td',
        { 'data-label': 'URL' },
        h('code', { class: 'break' }, w.url),
        w.description ? h('p', { class: 'muted' }, w.description) : null,
      ),
      h('td', { 'data-label': 'Events' }, w.events.join(', ')),
      h('td', { 'data-label': 'Days before' }, w.days_before.join(', ')),
      h('td', { 'data-label': 'Created' }, formatDate(w.created_at)),
      h('td', { class: 'cell-actions' }, deliveries, writable('webhook.write', remove)),
    );
  });
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'visually-hidden' }, 'Webhooks'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['URL', 'Events', 'Days before', 'Created'].map((t) => h('th', { scope: 'col' }, t)),
          h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}

const STATUS_BADGE: Record<WebhookDelivery['status'], string> = {
  delivered: 'valid',
  pending: 'expiring_soon',
  failed: 'expired',
};

/** The receiver's answers, oldest first: "500, 500, 204" or the reason there was none. */
function answers(d: WebhookDelivery): string {
  if (d.attempt_log.length === 0) return '—';
  return d.attempt_log
    .map((a) => (a.status_code === null ? (a.error ?? 'no answer') : String(a.status_code)))
    .join(', ');
}

/** When it was delivered, or when the next attempt is due; a failed delivery has neither. */
function when(d: WebhookDelivery): string {
  if (d.delivered_at !== null) return formatDateTime(d.delivered_at);
  if (d.next_attempt_at !== null) return `next ${formatDateTime(d.next_attempt_at)}`;
  return '—';
}

function openDeliveries(webhook: Webhook): void {
  const list = h('div', { 'aria-busy': 'true' }, loading('Loading deliveries…'));
  const pages = pager<WebhookDelivery>({
    noun: 'sent events',
    region: list,
    load: (cursor, limit) =>
      listPage<WebhookDelivery>(`/webhooks/${webhook.id}/deliveries`, { limit: String(limit), cursor }),
    show: (items, state) => clear(list, deliveriesTable(items, state.first)),
    failed: (message) => clear(list, errorBox(message)),
  });
  const handle = openDialog(
    `Deliveries to ${webhook.url}`,
    [
      h(
        'div',
        { class: 'dialog__body' },
        list,
        pages.nav,
        h(
          'div',
          { class: 'dialog__actions' },
          h('button', { type: 'button', class: 'btn', onclick: () => pages.reload() }, 'Refresh'),
          h('button', { type: 'button', class: 'btn btn--primary', onclick: () => handle.close() }, 'Done'),
        ),
      ),
    ],
    { wide: true },
  );
}

function deliveriesTable(items: WebhookDelivery[], first: boolean): HTMLElement {
  if (items.length === 0 && first) {
    return h('p', { class: 'muted' }, 'Nothing was sent to this webhook yet.');
  }
  const rows = items.map((d) =>
    h(
      'tr',
      {},
      h(
        'td',
        { 'data-label': 'Event' },
        h('code', {}, d.type),
        h('p', { class: 'muted' }, formatDateTime(d.created_at)),
      ),
      h(
        'td',
        { 'data-label': 'Status' },
        h('span', { class: `badge badge--${STATUS_BADGE[d.status]}` }, d.status),
      ),
      h('td', { 'data-label': 'Attempts' }, String(d.attempts)),
      h('td', { 'data-label': 'Answers' }, answers(d)),
      h('td', { 'data-label': 'Next attempt or delivered' }, when(d)),
    ),
  );
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: 'table' },
      h('caption', { class: 'visually-hidden' }, 'Deliveries'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Event', 'Status', 'Attempts', 'Answers', 'Next attempt / delivered'].map((t) =>
            h('th', { scope: 'col' }, t),
          ),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
  );
}
