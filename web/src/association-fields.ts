// What a certificate is tied to (SPEC §2): the Proxy type choice, then the access credential and the
// hosts for an outbound certificate, or the inbound route. Shared by the upload dialog and the
// certificate request dialog, which send the same fields and place their errors the same way.

import { ApiError } from './api.js';
import { field, h, newId } from './dom.js';
import { routeName } from './format.js';
import { errorField, type Slot } from './key-material.js';
import type { Credential, ProxyType, Route } from './types.js';

/** A comma-separated list as typed: trimmed, without empty entries. */
export function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

export interface AssociationPrefill {
  proxy_type: ProxyType;
  credential_id: string | null;
  route_id: string | null;
  hosts: string[];
}

export interface AssociationFields {
  /** The proxy-type radios, then the credential, hosts and route fields, in form order. */
  wraps: HTMLElement[];
  /** Where the API's errors on credential_id, route_id and hosts are shown. */
  slots: Record<string, Slot>;
  selectedType(): ProxyType;
  /** `proxy_type`, then `credential_id` and `hosts` (when any) or `route_id`. */
  body(): Record<string, unknown>;
  /** The field an error belongs to: the one it names, or the association's own for invalid_association. */
  errorField(err: unknown): string;
}

export function associationFields(
  credentials: Credential[],
  routes: Route[],
  prefill?: AssociationPrefill,
): AssociationFields {
  const inboundRoutes = routes.filter((r) => r.type === 'inbound');
  const credential = h(
    'select',
    { name: 'credential_id' },
    ...credentials.map((c) =>
      h('option', { value: c.id }, c.description ? `${c.description} (${c.username})` : c.username),
    ),
  );
  const route = h(
    'select',
    { name: 'route_id' },
    ...inboundRoutes.map((r) => h('option', { value: r.id }, `${routeName(r)} — ${r.host_endpoint}`)),
  );
  if (credentials.length === 0)
    credential.append(h('option', { value: '' }, 'No access credentials — generate one first'));
  if (inboundRoutes.length === 0)
    route.append(h('option', { value: '' }, 'No inbound routes — create one on the Routes page'));
  if (prefill?.credential_id) credential.value = prefill.credential_id;
  if (prefill?.route_id) route.value = prefill.route_id;
  const hosts = h('input', {
    type: 'text',
    name: 'hosts',
    placeholder: 'api.visa.com, *.mastercard.com',
    value: prefill?.hosts.join(', ') ?? '',
  });

  const fCredential = field('Access credential', credential);
  const fRoute = field('Route', route, 'Inbound routes of this vault.');
  const fHosts = field(
    'Hosts (optional)',
    hosts,
    'Comma-separated. Empty: presented to every upstream host.',
  );
  const initialType = prefill?.proxy_type ?? 'outbound';
  const typeName = newId('proxy-type');
  const radio = (value: ProxyType, label: string): HTMLElement => {
    const input = h('input', {
      type: 'radio',
      name: typeName,
      value,
      id: newId('pt'),
      checked: value === initialType,
    });
    input.addEventListener('change', syncType);
    return h('div', { class: 'radio' }, input, h('label', { for: input.id }, label));
  };
  const proxyType = h(
    'fieldset',
    { class: 'field segmented' },
    h('legend', {}, 'Proxy type'),
    radio('inbound', 'Inbound'),
    radio('outbound', 'Outbound'),
  );
  const selectedType = (): ProxyType =>
    (proxyType.querySelector<HTMLInputElement>('input:checked')?.value as ProxyType | undefined) ??
    'outbound';
  function syncType(): void {
    const outbound = selectedType() === 'outbound';
    fCredential.wrap.hidden = !outbound;
    fHosts.wrap.hidden = !outbound;
    fRoute.wrap.hidden = outbound;
  }
  syncType();

  return {
    wraps: [proxyType, fCredential.wrap, fHosts.wrap, fRoute.wrap],
    slots: {
      credential_id: [credential, fCredential.error],
      route_id: [route, fRoute.error],
      hosts: [hosts, fHosts.error],
    },
    selectedType,
    body() {
      const type = selectedType();
      if (type === 'inbound') return { proxy_type: type, route_id: route.value };
      const list = splitList(hosts.value);
      return { proxy_type: type, credential_id: credential.value, ...(list.length ? { hosts: list } : {}) };
    },
    errorField(err) {
      const name = errorField(err);
      if (name || !(err instanceof ApiError) || err.code !== 'invalid_association') return name;
      return selectedType() === 'outbound' ? 'credential_id' : 'route_id';
    },
  };
}
