// The "Create certificate request" dialog: vaultgate generates the key pair and answers with a CSR
// for the third party's CA to sign (SPEC §2 "Certificate lifecycle"). Opened empty from the
// Certificates tab, or pre-filled from an expiring certificate to renew it. As in the upload dialog,
// the API's error appears beside the field it names and nothing is created.

import { api } from './api.js';
import { associationFields, splitList, type AssociationPrefill } from './association-fields.js';
import { field, h, openDialog } from './dom.js';
import { clearFormErrors, showFormError, type Slot } from './key-material.js';
import type { CertificateRequest, Credential, Route, Vault } from './types.js';

/** What a renewal starts from: the expiring certificate's association and names. */
export interface RequestPrefill extends AssociationPrefill {
  description: string | null;
  common_name: string;
  sans: string[];
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

export function openCertificateRequestForm(
  vault: Vault,
  credentials: Credential[],
  routes: Route[],
  onCreated: (request: CertificateRequest) => void,
  prefill?: RequestPrefill,
): void {
  const description = h('input', {
    type: 'text',
    name: 'description',
    maxlength: '200',
    placeholder: 'Visa VDP 2027',
    value: prefill?.description ?? '',
  });
  const association = associationFields(credentials, routes, prefill);
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
  const fSans = field(
    'Subject alternative names (optional)',
    sans,
    'Comma-separated DNS names, IP addresses or email addresses.',
  );
  const fKey = field('Key', key, 'Generated inside vaultgate; it never leaves it.');

  const general = h('div', { class: 'dialog__error' });
  const create = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Create request');
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    general,
    fDescription.wrap,
    ...association.wraps,
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
    ...association.slots,
    description: [description, fDescription.error],
    sans: [sans, fSans.error],
    key_type: [key, fKey.error],
    curve: [key, fKey.error],
    key_size: [key, fKey.error],
    ...Object.fromEntries(subject.map((s) => [`subject.${s.name}`, [s.input, s.error] as Slot])),
  };
  const clearErrors = (): void => clearFormErrors(general, slots);
  const showError = (err: unknown): void => {
    const name = association.errorField(err);
    const slot = slots[name];
    showFormError(general, slot, err);
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clearErrors();
    const body: Record<string, unknown> = { ...association.body(), ...KEYS[Number(key.value)]?.body };
    if (description.value.trim()) body['description'] = description.value.trim();
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
