// The certificate + private key fields that both upload dialogs share (client certificates and the
// server certificates of hostnames): pasted PEM, PEM files, or a .p12/.pfx file sent as base64
// `pkcs12` instead. The key is read into the page only to be sent; it is never shown back.

import { ApiError } from './api.js';
import { clear, errorBox, field, h, newId, showFieldError } from './dom.js';

const PKCS12 = /\.(p12|pfx)$/i;

/** Where a field's API error is shown: the control to mark invalid and the message slot. */
export type Slot = [Element, HTMLElement];

export function toBase64(bytes: ArrayBuffer): string {
  const view = new Uint8Array(bytes);
  let binary = '';
  // Chunked so that large files do not overflow the argument list of fromCharCode.
  for (let i = 0; i < view.length; i += 0x8000)
    binary += String.fromCharCode(...view.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function fileRow(input: HTMLInputElement, label: string, note: HTMLElement): HTMLElement {
  input.id = newId('file');
  return h(
    'div',
    { class: 'file-row' },
    h('label', { for: input.id, class: 'file-row__label' }, label),
    input,
    note,
  );
}

/**
 * The API's `field` as a dotted path: it may come as "client_auth.ca_pem" or as a JSON pointer
 * "/client_auth/ca_pem"; either way the slot tables below use the dotted form.
 */
export function errorField(err: unknown): string {
  if (!(err instanceof ApiError) || !err.field) return '';
  return err.field.split(/[./]/).filter(Boolean).join('.');
}

/** Clears a form's messages: the general box and every field's slot. */
export function clearFormErrors(general: HTMLElement, slots: Record<string, Slot>): void {
  clear(general);
  for (const [control, slot] of Object.values(slots)) showFieldError(control, slot, null);
}

/** Shows `err` beside the field of `slot` and focuses it, or, without a slot, in the general box. */
export function showFormError(general: HTMLElement, slot: Slot | undefined, err: unknown): void {
  const message = err instanceof Error ? err.message : String(err);
  if (slot) {
    showFieldError(slot[0], slot[1], message);
    (slot[0] as HTMLElement).focus();
  } else {
    clear(general, errorBox(message));
  }
}

export interface KeyMaterial {
  /** The field wrappers, in order: certificate, private key, passphrase. */
  wraps: HTMLElement[];
  /** Error slots by API field name: certificate, private_key, passphrase. */
  slots: Record<string, Slot>;
  /** The slot for an API field name of these fields, `pkcs12` included; undefined for others. */
  slotFor(name: string): Slot | undefined;
  /** The body fields to send: `pkcs12` or `certificate` (+ `private_key`), and `passphrase`. */
  body(): Record<string, unknown>;
  /** The first control, for focus. */
  first: HTMLTextAreaElement;
}

export function keyMaterialFields(hints: { certificate: string; privateKey: string }): KeyMaterial {
  let pkcs12: { data: string; from: 'certificate' | 'private_key' } | null = null;

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

  const fCert = field('Certificate', certText, hints.certificate);
  const fKey = field('Private key', keyText, hints.privateKey);
  const fPass = field('Passphrase', passphrase, 'Only for an encrypted key or a PKCS#12 file.');
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

  const readFile = async (
    input: HTMLInputElement,
    target: HTMLTextAreaElement,
    note: HTMLElement,
    from: 'certificate' | 'private_key',
  ): Promise<void> => {
    const file = input.files?.[0];
    if (!file) return;
    if (PKCS12.test(file.name)) {
      pkcs12 = { data: toBase64(await file.arrayBuffer()), from };
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

  const slots: Record<string, Slot> = {
    certificate: [certText, fCert.error],
    private_key: [keyText, fKey.error],
    passphrase: [passphrase, fPass.error],
  };

  return {
    wraps: [fCert.wrap, fKey.wrap, fPass.wrap],
    slots,
    first: certText,
    // A `pkcs12` error goes beside the chooser that took the file.
    slotFor: (name) => slots[name === 'pkcs12' ? (pkcs12?.from ?? 'certificate') : name],
    body() {
      const body: Record<string, unknown> = {};
      if (pkcs12) body['pkcs12'] = pkcs12.data;
      else {
        body['certificate'] = certText.value;
        if (keyText.value.trim()) body['private_key'] = keyText.value;
      }
      if (passphrase.value) body['passphrase'] = passphrase.value;
      return body;
    },
  };
}

/** A PEM text field that can also be filled from a file (CA bundles, CRLs): public material only. */
export function pemField(
  label: string,
  name: string,
  hint: string,
  placeholder: string,
): { wrap: HTMLElement; error: HTMLElement; text: HTMLTextAreaElement } {
  const text = h('textarea', { name, rows: '4', spellcheck: 'false', placeholder });
  const file = h('input', { type: 'file', accept: '.pem,.crt,.cer,.crl' });
  const note = h('p', { class: 'field__hint', 'aria-live': 'polite' });
  const f = field(label, text, hint);
  f.wrap.insertBefore(fileRow(file, `${label}: or upload a file`, note), f.error);
  file.addEventListener('change', () => {
    const chosen = file.files?.[0];
    if (!chosen) return;
    void chosen.text().then((content) => {
      text.value = content;
      note.textContent = `Loaded “${chosen.name}”.`;
    });
  });
  return { wrap: f.wrap, error: f.error, text };
}
