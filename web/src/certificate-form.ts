// The "Add Certificate" dialog. Certificate and key come pasted or from files; a .p12/.pfx file is
// sent as base64 `pkcs12` instead. The API's error appears beside the field it names and nothing is
// added; the dialog closes only on success.

import { ApiError, api } from './api.js';
import { clear, errorBox, field, h, newId, openDialog, showFieldError } from './dom.js';
import { routeName } from './format.js';
import { errorField, keyMaterialFields, type Slot } from './key-material.js';
import type { Certificate, Credential, ProxyType, Route, Vault } from './types.js';

export function openAddCertificate(
  vault: Vault,
  credentials: Credential[],
  routes: Route[],
  onSaved: (certificate: Certificate) => void,
): void {
  const inboundRoutes = routes.filter((r) => r.type === 'inbound');

  const description = h('input', {
    type: 'text',
    name: 'description',
    maxlength: '200',
    placeholder: 'Visa VDP',
  });
  const material = keyMaterialFields({
    certificate: 'PEM: the leaf, optionally followed by intermediates. Or a .p12/.pfx file.',
    privateKey: 'PEM, encrypted or not. Leave empty for a .p12/.pfx file or a bundle.',
  });
  const hosts = h('input', { type: 'text', name: 'hosts', placeholder: 'api.visa.com, *.mastercard.com' });
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

  const fDescription = field(
    'Description',
    description,
    'A name you will recognise, like the third party’s.',
  );
  const fHosts = field(
    'Hosts (optional)',
    hosts,
    'Comma-separated. Empty: presented to every upstream host.',
  );
  const fCredential = field('Access credential', credential);
  const fRoute = field('Route', route, 'Inbound routes of this vault.');
  const typeName = newId('proxy-type');
  const radio = (value: ProxyType, label: string, checked: boolean): HTMLElement => {
    const input = h('input', { type: 'radio', name: typeName, value, id: newId('pt'), checked });
    input.addEventListener('change', syncType);
    return h('div', { class: 'radio' }, input, h('label', { for: input.id }, label));
  };
  const proxyType = h(
    'fieldset',
    { class: 'field segmented' },
    h('legend', {}, 'Proxy type'),
    radio('inbound', 'Inbound', false),
    radio('outbound', 'Outbound', true),
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
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Save');
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    general,
    fDescription.wrap,
    ...material.wraps,
    proxyType,
    fCredential.wrap,
    fHosts.wrap,
    fRoute.wrap,
    h(
      'div',
      { class: 'dialog__actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => handle.close() }, 'Cancel'),
      save,
    ),
  );
  const handle = openDialog('Add Certificate', [form], { wide: true });

  // Where each API field's error is shown; the key material's own slots come from its module.
  const slots: Record<string, Slot> = {
    ...material.slots,
    description: [description, fDescription.error],
    hosts: [hosts, fHosts.error],
    credential_id: [credential, fCredential.error],
    route_id: [route, fRoute.error],
  };
  const clearErrors = (): void => {
    clear(general);
    for (const [control, slot] of Object.values(slots)) showFieldError(control, slot, null);
  };

  const showError = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err);
    let name = errorField(err).split('.')[0] ?? '';
    if (!name && err instanceof ApiError && err.code === 'invalid_association')
      name = selectedType() === 'outbound' ? 'credential_id' : 'route_id';
    const slot = material.slotFor(name) ?? slots[name];
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
    const body: Record<string, unknown> = { proxy_type: type };
    if (description.value.trim()) body['description'] = description.value.trim();
    if (type === 'outbound') {
      body['credential_id'] = credential.value;
      const list = hosts.value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (list.length) body['hosts'] = list;
    } else {
      body['route_id'] = route.value;
    }
    Object.assign(body, material.body());
    save.disabled = true;
    save.textContent = 'Saving…';
    api<Certificate>('POST', `/vaults/${vault.id}/certificates`, body).then(
      (saved) => {
        handle.close();
        onSaved(saved);
      },
      (err: unknown) => {
        save.disabled = false;
        save.textContent = 'Save';
        showError(err);
      },
    );
  });
  description.focus();
}
