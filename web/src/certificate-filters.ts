// The search box and filters above the certificate table. Each maps to a query parameter of
// GET /vaults/{id}/certificates: `q` (vaultgate's search), `status`, `proxy_type`, and
// `credential_id` or `route_id` for the tie. A control left at "any" sends nothing.

import { clear, h, newId } from './dom.js';
import { routeName } from './format.js';
import type { Credential, Route } from './types.js';

/** Typing pauses this long before the list is asked again; Enter searches at once. */
const TYPING_PAUSE_MS = 250;
/** The API's limit on `q` (src/api/certificates.ts). */
const MAX_SEARCH = 200;

export interface CertificateFilters {
  readonly form: HTMLFormElement;
  /** The query parameters the controls stand for. */
  params(): Record<string, string>;
  /** Whether any control narrows the list. */
  active(): boolean;
  /** Sets controls (the others back to "any") and shows the first page. */
  set(values: { q?: string; status?: string }): void;
  reset(): void;
  /** Fills the "Tied to" choice once the vault's credentials and routes are known. */
  offerTies(credentials: Credential[], routes: Route[]): void;
}

export function certificateFilters(onChange: () => void): CertificateFilters {
  const labelled = (label: string, control: HTMLElement, extra = ''): HTMLElement => {
    control.id = newId('filter');
    return h('div', { class: `field ${extra}`.trim() }, h('label', { for: control.id }, label), control);
  };
  const q = h('input', {
    type: 'search',
    name: 'q',
    maxlength: String(MAX_SEARCH),
    autocomplete: 'off',
    placeholder: 'Description, subject, host or fingerprint',
  });
  const status = h(
    'select',
    { name: 'status' },
    h('option', { value: '' }, 'Any status'),
    h('option', { value: 'valid' }, 'Valid'),
    h('option', { value: 'expiring_soon' }, 'Expiring soon'),
    h('option', { value: 'expired' }, 'Expired'),
    h('option', { value: 'not_yet_valid' }, 'Not yet valid'),
  );
  const proxyType = h(
    'select',
    { name: 'proxy_type' },
    h('option', { value: '' }, 'Inbound and outbound'),
    h('option', { value: 'outbound' }, 'Outbound'),
    h('option', { value: 'inbound' }, 'Inbound'),
  );
  // "credential:<id>" or "route:<id>": one choice, since a certificate is tied to one or the other.
  const tie = h('select', { name: 'tie' }, h('option', { value: '' }, 'Any credential or route'));
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Find certificates', novalidate: true },
    labelled('Search certificates', q, 'filters__search'),
    labelled('Status', status),
    labelled('Proxy type', proxyType),
    labelled('Tied to', tie),
  );

  let pause: ReturnType<typeof setTimeout> | undefined;
  let applied = '';
  const apply = (): void => {
    clearTimeout(pause);
    const now = JSON.stringify(params());
    if (now === applied) return;
    applied = now;
    onChange();
  };
  q.addEventListener('input', () => {
    clearTimeout(pause);
    pause = setTimeout(apply, TYPING_PAUSE_MS);
  });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    apply();
  });
  for (const select of [status, proxyType, tie]) select.addEventListener('change', apply);

  function params(): Record<string, string> {
    const out: Record<string, string> = {};
    const term = q.value.trim();
    if (term) out['q'] = term;
    if (status.value) out['status'] = status.value;
    if (proxyType.value) out['proxy_type'] = proxyType.value;
    const [kind, id] = tie.value.split(':');
    if (kind === 'credential' && id) out['credential_id'] = id;
    if (kind === 'route' && id) out['route_id'] = id;
    return out;
  }
  applied = JSON.stringify(params());

  const set = (values: { q?: string; status?: string }): void => {
    q.value = values.q ?? '';
    status.value = values.status ?? '';
    proxyType.value = '';
    tie.value = '';
    apply();
  };

  return {
    form,
    params,
    active: () => Object.keys(params()).length > 0,
    set,
    reset: () => set({}),
    offerTies(credentials, routes) {
      const chosen = tie.value;
      const inbound = routes.filter((r) => r.type === 'inbound');
      clear(
        tie,
        h('option', { value: '' }, 'Any credential or route'),
        credentials.length
          ? h(
              'optgroup',
              { label: 'Access credentials' },
              ...credentials.map((c) =>
                h('option', { value: `credential:${c.id}` }, c.description || c.username),
              ),
            )
          : null,
        inbound.length
          ? h(
              'optgroup',
              { label: 'Inbound routes' },
              ...inbound.map((r) => h('option', { value: `route:${r.id}` }, `Route: ${routeName(r)}`)),
            )
          : null,
      );
      tie.value = chosen;
    },
  };
}
