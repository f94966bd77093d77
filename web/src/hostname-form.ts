// The "Add Hostname" and "Replace certificate" dialogs. A hostname's server certificate (with its
// key, as PEM or a .p12/.pfx) is uploaded like a client certificate; replacing it is a PUT with the
// renewed one, which vaultgate switches to without a gap. The API's error appears beside the field
// it names, nothing changes, and the dialog closes only on success.

import { api } from './api.js';
import { clientAuthFields } from './client-auth-fields.js';
import { field, h, openDialog } from './dom.js';
import { clearFormErrors, errorField, keyMaterialFields, showFormError, type Slot } from './key-material.js';
import type { Hostname, Vault } from './types.js';

export function openHostnameForm(
  vault: Vault,
  existing: Hostname | undefined,
  onSaved: (saved: Hostname) => void,
): void {
  const hostname = h('input', {
    type: 'text',
    name: 'hostname',
    maxlength: '253',
    spellcheck: 'false',
    autocomplete: 'off',
    placeholder: 'callbacks.acme.example',
    value: existing?.hostname ?? '',
    readonly: existing !== undefined,
  });
  const fHostname = field(
    'Hostname',
    hostname,
    existing
      ? 'The renewed certificate must cover this hostname too.'
      : 'The name callers use (their SNI). The certificate must cover it.',
  );
  const material = keyMaterialFields({
    certificate: 'PEM: the server certificate, then its intermediates. Or a .p12/.pfx file.',
    privateKey: 'PEM, encrypted or not. Leave empty for a .p12/.pfx file or a bundle.',
  });
  const clientAuth = clientAuthFields({
    prefix: 'client_auth',
    current: existing?.client_auth,
    withCrl: true,
    legend: 'Callers (mTLS)',
    keepsWhenUntouched: existing !== undefined,
  });

  const general = h('div', { class: 'dialog__error' });
  const saveLabel = existing ? 'Replace' : 'Save';
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, saveLabel);
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    general,
    fHostname.wrap,
    ...material.wraps,
    clientAuth.wrap,
    h(
      'div',
      { class: 'dialog__actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => handle.close() }, 'Cancel'),
      save,
    ),
  );
  const title = existing ? `Replace certificate of ${existing.hostname}` : 'Add Hostname';
  const handle = openDialog(title, [form], { wide: true });

  const slots: Record<string, Slot> = {
    ...material.slots,
    ...clientAuth.slots,
    hostname: [hostname, fHostname.error],
  };
  const clearErrors = (): void => clearFormErrors(general, slots);
  const showError = (err: unknown): void => {
    const name = errorField(err);
    // The most specific slot: `client_auth.ca_pem` itself, else its first segment (`certificate.0`).
    const slot = slots[name] ?? material.slotFor(name.split('.')[0] ?? '') ?? slots[name.split('.')[0] ?? ''];
    showFormError(general, slot, err);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors();
    const body: Record<string, unknown> = { hostname: hostname.value.trim(), ...material.body() };
    // `client_auth` is optional: a new hostname without caller mTLS leaves it out, and on replace an
    // untouched section is left out so the stored CA bundle (which the API never returns) is kept.
    const auth = clientAuth.value();
    if (existing ? !clientAuth.unchanged() : auth.mode !== 'off') body['client_auth'] = auth;
    save.disabled = true;
    save.textContent = 'Saving…';
    const call = existing
      ? api<Hostname>('PUT', `/vaults/${vault.id}/hostnames/${existing.id}`, body)
      : api<Hostname>('POST', `/vaults/${vault.id}/hostnames`, body);
    call.then(
      (saved) => {
        handle.close();
        onSaved(saved);
      },
      (err: unknown) => {
        save.disabled = false;
        save.textContent = saveLabel;
        showError(err);
      },
    );
  });
  (existing ? material.first : hostname).focus();
}
