// The "Add Certificate" dialog. Certificate and key come pasted or from files; a .p12/.pfx file is
// sent as base64 `pkcs12` instead. The API's error appears beside the field it names and nothing is
// added; the dialog closes only on success.

import { ApiError, api } from './api.js';
import { clear, errorBox, field, h, newId, openDialog, showFieldError } from './dom.js';
import { routeName } from './format.js';
import type { Certificate, Credential, ProxyType, Route, Vault } from './types.js';

const PKCS12 = /\.(p12|pfx)$/i;

function toBase64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let binary = '';
  // Chunked so that large files do not overflow the argument list of fromCharCode.
  for (let i = 0; i < view.length; i += 0x8000)
    binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function openAddCertificate(
  vault: Vault,
  credentials: Credential[],
  routes: Route[],
  onSaved: (certificate: Certificate) => void,
): void {
  const inboundRoutes = routes.filter((r) => r.type === 'inbound');
  let pkcs12: { data: string; name: string; from: 'certificate' | 'private_key' } | null = null;

  const description = h('input', {
    type: 'text',
    name: 'description',
    maxlength: '200',
    placeholder: 'Visa VDP',
  });
  const certText = h('textarea', {
    name: 'certificate',
    rows: '5',
    spellcheck: 'false',
    placeholder: '-----BEGIN CERTIFICATE-----',
  });
  const certFile = h('input', { type: 'file', accept: '.pem,.crt,.cer,.p12,.pfx' });
  const keyText = h('textarea', {
    name: 'private_key',
    rows: '5',
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: '-----BEGIN PRIVATE KEY-----',
  });
  const keyFile = h('input', { type: 'file', accept: '.pem,.key,.p12,.pfx' });
  const passphrase = h('input', { type: 'password', name: 'passphrase', autocomplete: 'off' });
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
  const fCert = field(
    'Certificate',
    certText,
    'PEM: the leaf, optionally followed by intermediates. Or a .p12/.pfx file.',
  );
  const fKey = field(
    'Private key',
    keyText,
    'PEM, encrypted or not. Leave empty for a .p12/.pfx file or a bundle.',
  );
  const fPass = field('Passphrase', passphrase, 'Only for an encrypted key or a PKCS#12 file.');
  const fHosts = field(
    'Hosts (optional)',
    hosts,
    'Comma-separated. Empty: presented to every upstream host.',
  );
  const fCredential = field('Access credential', credential);
  const fRoute = field('Route', route, 'Inbound routes of this vault.');
  const certFileNote = h('p', { class: 'field__hint', 'aria-live': 'polite' });
  const keyFileNote = h('p', { class: 'field__hint', 'aria-live': 'polite' });
  fCert.wrap.insertBefore(
    fileRow(certFile, 'Or upload a file (.pem, .crt, .p12, .pfx)', certFileNote),
    fCert.error,
  );
  fKey.wrap.insertBefore(
    fileRow(keyFile, 'Or upload a file (.pem, .key, .p12, .pfx)', keyFileNote),
    fKey.error,
  );

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

  const readFile = async (
    input: HTMLInputElement,
    target: HTMLTextAreaElement,
    note: HTMLElement,
    from: 'certificate' | 'private_key',
  ): Promise<void> => {
    const file = input.files?.[0];
    if (!file) return;
    if (PKCS12.test(file.name)) {
      pkcs12 = { data: toBase64(await file.arrayBuffer()), name: file.name, from };
      certText.value = '';
      keyText.value = '';
      certText.disabled = keyText.disabled = true;
      note.textContent = `PKCS#12 file “${file.name}” chosen: it holds the certificate and the key.`;
    } else {
      if (pkcs12) {
        pkcs12 = null;
        certText.disabled = keyText.disabled = false;
        certFileNote.textContent = keyFileNote.textContent = '';
      }
      target.value = await file.text();
      note.textContent = `Loaded “${file.name}”.`;
    }
  };
  certFile.addEventListener('change', () => void readFile(certFile, certText, certFileNote, 'certificate'));
  keyFile.addEventListener('change', () => void readFile(keyFile, keyText, keyFileNote, 'private_key'));

  const general = h('div', { class: 'dialog__error' });
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Save');
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    general,
    fDescription.wrap,
    fCert.wrap,
    fKey.wrap,
    fPass.wrap,
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

  // Where each API field's error is shown. `pkcs12` errors go beside the chooser that took the file.
  const slots: Record<string, [Element, HTMLElement]> = {
    description: [description, fDescription.error],
    certificate: [certText, fCert.error],
    private_key: [keyText, fKey.error],
    passphrase: [passphrase, fPass.error],
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
    let name = err instanceof ApiError ? ((err.field ?? '').replace(/^\//, '').split(/[./]/)[0] ?? '') : '';
    if (name === 'pkcs12') name = pkcs12?.from ?? 'certificate';
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
    if (pkcs12) body['pkcs12'] = pkcs12.data;
    else {
      body['certificate'] = certText.value;
      if (keyText.value.trim()) body['private_key'] = keyText.value;
    }
    if (passphrase.value) body['passphrase'] = passphrase.value;
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

function fileRow(input: HTMLInputElement, label: string, note: HTMLElement): HTMLElement {
  input.id = newId('file');
  return h(
    'div',
    { class: 'file-row' },
    h('label', { for: input.id, class: 'file-row__label' }, label),
    input,
    note,
  );
}
