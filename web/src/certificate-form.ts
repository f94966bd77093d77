// The "Add Certificate" dialog. Certificate and key come pasted or from files; a .p12/.pfx file is
// sent as base64 `pkcs12` instead. The API's error appears beside the field it names and nothing is
// added; the dialog closes only on success.

import { api } from './api.js';
import { associationFields } from './association-fields.js';
import { field, h, openDialog } from './dom.js';
import { clearFormErrors, keyMaterialFields, showFormError, type Slot } from './key-material.js';
import type { Certificate, Credential, Route, Vault } from './types.js';

export function openAddCertificate(
  vault: Vault,
  credentials: Credential[],
  routes: Route[],
  onSaved: (certificate: Certificate) => void,
): void {
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
  const fDescription = field(
    'Description',
    description,
    'A name you will recognise, like the third party’s.',
  );
  const association = associationFields(credentials, routes);

  const general = h('div', { class: 'dialog__error' });
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Save');
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    general,
    fDescription.wrap,
    ...material.wraps,
    ...association.wraps,
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
    ...association.slots,
    description: [description, fDescription.error],
  };
  const clearErrors = (): void => clearFormErrors(general, slots);

  const showError = (err: unknown): void => {
    const name = association.errorField(err).split('.')[0] ?? '';
    const slot = material.slotFor(name) ?? slots[name];
    showFormError(general, slot, err);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors();
    const body: Record<string, unknown> = association.body();
    if (description.value.trim()) body['description'] = description.value.trim();
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
