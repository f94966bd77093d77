// The certificate preview: what the card network's portal shows, so users can check they uploaded
// the right one. The API returns the public chain only; private keys never reach the browser.

import { api, ApiError } from './api.js';
import { splitList } from './association-fields.js';
import { certificateName, statusBadge } from './format.js';
import {
  clear,
  copyButton,
  errorBox,
  field,
  formatDateTime,
  h,
  loading,
  openDialog,
  showFieldError,
} from './dom.js';
import { writable } from './roles.js';
import type { Certificate, Vault } from './types.js';

function row(label: string, value: Node | string): HTMLElement[] {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function keyText(c: Certificate): string {
  if (c.key_type === 'rsa') return `RSA ${c.key_size ?? ''}`.trim();
  if (c.key_type === 'ec') return `ECDSA ${c.curve ?? ''}`.trim();
  return 'Ed25519';
}

/**
 * Description and hosts are all a certificate lets you change (PATCH; the material never changes):
 * a small form under the details. Saved edits apply to the proxies at once.
 */
function editForm(vault: Vault, c: Certificate, saved: (next: Certificate) => void): HTMLFormElement {
  const description = h('input', { type: 'text', name: 'description', maxlength: '500' });
  description.value = c.description ?? '';
  const fDescription = field('Description', description);
  const hosts = h('input', { type: 'text', name: 'hosts', placeholder: 'api.visa.com, *.mastercard.com' });
  hosts.value = c.hosts.join(', ');
  const fHosts = field(
    'Hosts',
    hosts,
    'Comma-separated. Empty: presented to any host this credential reaches.',
  );
  const status = h('p', { class: 'muted', role: 'status' });
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Save changes');
  const form = h(
    'form',
    { class: 'edit-certificate', 'aria-label': 'Edit certificate', novalidate: true },
    h('h3', {}, 'Edit'),
    fDescription.wrap,
    c.proxy_type === 'outbound' ? fHosts.wrap : null,
    h('div', { class: 'dialog__actions' }, status, save),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    showFieldError(description, fDescription.error, null);
    showFieldError(hosts, fHosts.error, null);
    status.textContent = '';
    const body: Record<string, unknown> = { description: description.value.trim() || null };
    if (c.proxy_type === 'outbound') {
      body['hosts'] = splitList(hosts.value);
    }
    save.disabled = true;
    api<Certificate>('PATCH', `/vaults/${vault.id}/certificates/${c.id}`, body).then(
      (next) => {
        save.disabled = false;
        status.textContent = 'Saved. The proxies use the change from the next request.';
        saved(next);
      },
      (err: Error) => {
        save.disabled = false;
        const at = err instanceof ApiError ? err.field : undefined;
        if (at === 'hosts') showFieldError(hosts, fHosts.error, err.message);
        else if (at === 'description') showFieldError(description, fDescription.error, err.message);
        else status.textContent = err.message;
      },
    );
  });
  return form;
}

export function openPreview(vault: Vault, id: string, changed: () => void = () => undefined): void {
  const content = h('div', { class: 'dialog__body', 'aria-busy': 'true' }, loading('Loading certificate…'));
  const handle = openDialog('Certificate', [content], { wide: true });
  api<Certificate>('GET', `/vaults/${vault.id}/certificates/${id}`).then(
    (c) => {
      content.removeAttribute('aria-busy');
      const title = handle.dialog.querySelector('h2');
      if (title) title.textContent = certificateName(c);
      const pem = c.certificate_pem ?? '';
      clear(
        content,
        h(
          'dl',
          { class: 'details' },
          ...row('Signer', c.issuer),
          ...row('Subject', c.subject),
          ...row('Serial number', h('code', {}, c.serial_number)),
          ...row('Valid from', formatDateTime(c.not_before)),
          ...row('Valid until', h('span', {}, formatDateTime(c.not_after), ' ', statusBadge(c.status))),
          ...row('SHA-256 fingerprint', h('code', { class: 'break' }, c.fingerprint_sha256)),
          ...row('SANs', c.sans.length ? c.sans.join(', ') : 'None'),
          ...row('Key', keyText(c)),
          ...row('Proxy type', c.proxy_type === 'inbound' ? 'Inbound' : 'Outbound'),
          ...(c.proxy_type === 'outbound'
            ? row('Hosts', c.hosts.length ? c.hosts.join(', ') : 'Any host')
            : []),
          ...row(
            'Chain',
            c.chain.length
              ? h(
                  'ol',
                  { class: 'chain' },
                  ...c.chain.map((e) =>
                    h(
                      'li',
                      {},
                      e.subject,
                      h(
                        'span',
                        { class: 'muted' },
                        ` — signed by ${e.issuer}, until ${formatDateTime(e.not_after)}`,
                      ),
                    ),
                  ),
                )
              : 'Leaf only',
          ),
        ),
        h(
          'div',
          { class: 'pem-head' },
          h('h3', {}, 'Certificate (PEM)'),
          copyButton('Copy', () => pem, 'Copy certificate PEM'),
        ),
        h('pre', { class: 'pem', tabindex: '0', 'aria-label': 'Certificate PEM' }, pem),
        writable(
          'certificate.write',
          editForm(vault, c, (next) => {
            if (title) title.textContent = certificateName(next);
            changed();
          }),
        ),
        h(
          'div',
          { class: 'dialog__actions' },
          h('button', { type: 'button', class: 'btn', onclick: () => handle.close() }, 'Close'),
        ),
      );
    },
    (err: Error) => clear(content, errorBox(err.message)),
  );
}
