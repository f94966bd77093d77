// The "Create certificate request" dialog: vaultgate generates the key pair and answers with a CSR
// for the third party's CA to sign (SPEC §2 "Certificate lifecycle"). Opened empty from the
// Certificates tab, or pre-filled from an expiring certificate to renew it. As in the upload dialog,
// the API's error appears beside the field it names and nothing is created.

import { ApiError, api } from './api.js';
import { clear, errorBox, field, h, newId, openDialog, showFieldError } from './dom.js';
import { routeName } from './format.js';
import { errorField, type Slot } from './key-material.js';
import type { CertificateRequest, Credential, ProxyType, Route, Vault } from './types.js';

/** What a renewal starts from: the expiring certificate's association and names. */
export interface RequestPrefill {
  proxy_type: ProxyType;
  credential_id: string | null;
  route_id: string | null;
  description: string | null;
  common_name: string;
  sans: string[];
  hosts: string[];
}

const KEYS: { label: string; body: Record<string, unknown> }[] = [
  { label: 'EC P-256 (recommended)', body: { key_type: 'ec', curve: 'P-256' } },
  { label: 'EC P-384', body: { key_type: 'ec', curve: 'P-384' } },
  { label: 'RSA 2048', body: { key_type: 'rsa', key_size: 2048 } },
  { label: 'RSA 3072', body: { key_type: 'rsa', key_size: 3072 } },
  { label: 'RSA 4096 (takes a few seconds)', body: { key_type: 'rsa', key_size: 4096 } },
];

const SUBJECT_FIELDS = [
  ['common_name', 'Common name (CN)', 'vdp.acme.example'],
  ['organization', 'Organization (O, optional)', 'Acme, Inc.'],
  ['organizational_unit', 'Organizational unit (OU, optional)', 'Payments'],
  ['country', 'Country (C, optional)', 'US'],
  ['state', 'State or province (ST, optional)', 'California'],
  ['locality', 'Locality (L, optional)', 'San Francisco'],
  ['email', 'Email (optional)', 'pki@acme.example'],
] as const;

const splitList = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function openCertificateRequestForm(
  vault: Vault,
  credentials: Credential[],
  routes: Route[],
  onCreated: (request: CertificateRequest) => void,
  prefill?: RequestPrefill,
): void {
  const inboundRoutes = routes.filter((r) => r.type === 'inbound');
  const description = h('input', {
    type: 'text',
    name: 'description',
    maxlength: '200',
    placeholder: 'Visa VDP 2027',
    value: prefill?.description ?? '',
  });
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
  const sans = h('input', {
    type: 'text',
    name: 'sans',
    placeholder: 'vdp.acme.example, 10.0.0.1',
    value: prefill?.sans.join(', ') ?? '',
  });
  const key = h('select', { name: 'key' }, ...KEYS.map((k, i) => h('option', { value: String(i) }, k.label)));

  const subject = SUBJECT_FIELDS.map(([name, label, placeholder]) => {
    const input = h('input', {
      type: 'text',
      name: `subject.${name}`,
      placeholder,
      value: name === 'common_name' ? (prefill?.common_name ?? '') : '',
    });
    return { name, input, ...field(label, input) };
  });

  const fDescription = field('Description', description, 'Given to the certificate it becomes.');
  const fCredential = field('Access credential', credential);
  const fRoute = field('Route', route, 'Inbound routes of this vault.');
  const fHosts = field(
    'Hosts (optional)',
    hosts,
    'Comma-separated. Empty: presented to every upstream host.',
  );
  const fSans = field(
    'Subject alternative names (optional)',
    sans,
    'Comma-separated DNS names, IP addresses or email addresses.',
  );
  const fKey = field('Key', key, 'Generated inside vaultgate; it never leaves it.');

  const typeName = newId('proxy-type');
  const radio = (value: ProxyType, label: string, checked: boolean): HTMLElement => {
    const input = h('input', { type: 'radio', name: typeName, value, id: newId('pt'), checked });
    input.addEventListener('change', syncType);
    return h('div', { class: 'radio' }, input, h('label', { for: input.id }, label));
  };
  const initialType = prefill?.proxy_type ?? 'outbound';
  const proxyType = h(
    'fieldset',
    { class: 'field segmented' },
    h('legend', {}, 'Proxy type'),
    radio('inbound', 'Inbound', initialType === 'inbound'),
    radio('outbound', 'Outbound', initialType === 'outbound'),
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

  const general = h('div', { class: 'dialog__error' });
  const create = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Create request');
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    general,
    fDescription.wrap,
    proxyType,
    fCredential.wrap,
    fHosts.wrap,
    fRoute.wrap,
    h('fieldset', { class: 'field' }, h('legend', {}, 'Subject'), ...subject.map((s) => s.wrap)),
    fSans.wrap,
    fKey.wrap,
    h(
      'div',
      { class: 'dialog__actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => handle.close() }, 'Cancel'),
      create,
    ),
  );
  const handle = openDialog(prefill ? 'Create renewal request' : 'Create certificate request', [form], {
    wide: true,
  });

  const slots: Record<string, Slot> = {
    description: [description, fDescription.error],
    credential_id: [credential, fCredential.error],
    route_id: [route, fRoute.error],
    hosts: [hosts, fHosts.error],
    sans: [sans, fSans.error],
    key_type: [key, fKey.error],
    curve: [key, fKey.error],
    key_size: [key, fKey.error],
    ...Object.fromEntries(subject.map((s) => [`subject.${s.name}`, [s.input, s.error] as Slot])),
  };
  const clearErrors = (): void => {
    clear(general);
    for (const [control, slot] of Object.values(slots)) showFieldError(control, slot, null);
  };
  const showError = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    let name = errorField(err);
    if (!name && err instanceof ApiError && err.code === 'invalid_association')
      name = selectedType() === 'outbound' ? 'credential_id' : 'route_id';
    const slot = slots[name];
    if (slot) {
      showFieldError(slot[0], slot[1], message);
      (slot[0] as HTMLElement).focus();
    } else {
      clear(general, errorBox(message));
    }
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors();
    const type = selectedType();
    const body: Record<string, unknown> = { proxy_type: type, ...KEYS[Number(key.value)]?.body };
    if (description.value.trim()) body['description'] = description.value.trim();
    if (type === 'outbound') {
      body['credential_id'] = credential.value;
      const list = splitList(hosts.value);
      if (list.length) body['hosts'] = list;
    } else {
      body['route_id'] = route.value;
    }
    const names: Record<string, string> = {};
    for (const s of subject) if (s.input.value.trim()) names[s.name] = s.input.value.trim();
    body['subject'] = names;
    const sanList = splitList(sans.value);
    if (sanList.length) body['sans'] = sanList;
    create.disabled = true;
    create.textContent = 'Generating the key…';
    api<CertificateRequest>('POST', `/vaults/${vault.id}/certificate-requests`, body).then(
      (created) => {
        handle.close();
        onCreated(created);
      },
      (err: unknown) => {
        create.disabled = false;
        create.textContent = 'Create request';
        showError(err);
      },
    );
  });
  (subject[0]?.input ?? description).focus();
}
