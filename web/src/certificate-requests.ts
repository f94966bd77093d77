// Pending certificate requests on the Certificates tab: each one's CSR to download and send to the
// CA, the signed certificate to upload when it comes back (it then becomes a certificate of the
// list), and removal, which destroys the key vaultgate generated for it.

import { api, listPage } from './api.js';
import { clear, confirmDialog, errorBox, formatDate, h, openDialog, showFieldError } from './dom.js';
import { errorField, pemField } from './key-material.js';
import { writable } from './roles.js';
import type { Certificate, CertificateRequest, Vault } from './types.js';

/** Pending requests shown; a vault waits on a handful at a time. */
const PENDING_LIMIT = 100;

function requestName(r: CertificateRequest): string {
  return r.description || r.subject;
}

function keyText(r: CertificateRequest): string {
  return r.key_type === 'rsa' ? `RSA ${r.key_size ?? ''}` : `EC ${r.curve ?? ''}`;
}

/** The CSR as a `.csr` file: it is already in the page, so no second request is needed. */
function downloadCsr(r: CertificateRequest): void {
  const cn = /(?:^|, )CN=([^,\\]+)/.exec(r.subject)?.[1] ?? r.id;
  const url = URL.createObjectURL(new Blob([r.csr_pem], { type: 'application/pkcs10' }));
  const a = h('a', { href: url, download: `${cn.replace(/[^A-Za-z0-9.-]+/g, '_')}.csr` });
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke later: Chromium reads the blob asynchronously after click().
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function openUploadSigned(vault: Vault, r: CertificateRequest, onSaved: (c: Certificate) => void): void {
  const pem = pemField(
    'Signed certificate',
    'certificate',
    'PEM: the certificate the CA signed from this request, optionally followed by its chain.',
    '-----BEGIN CERTIFICATE-----',
  );
  const general = h('div', { class: 'dialog__error' });
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Upload');
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    h('p', { class: 'muted' }, `For “${requestName(r)}” (${r.subject}).`),
    general,
    pem.wrap,
    h(
      'div',
      { class: 'dialog__actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => handle.close() }, 'Cancel'),
      save,
    ),
  );
  const handle = openDialog('Upload signed certificate', [form], { wide: true });
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clear(general);
    showFieldError(pem.text, pem.error, null);
    save.disabled = true;
    api<Certificate>('POST', `/vaults/${vault.id}/certificate-requests/${r.id}/certificate`, {
      certificate: pem.text.value,
    }).then(
      (saved) => {
        handle.close();
        onSaved(saved);
      },
      (err: unknown) => {
        save.disabled = false;
        const message = err instanceof Error ? err.message : String(err);
        if (errorField(err) === 'certificate') showFieldError(pem.text, pem.error, message);
        else clear(general, errorBox(message));
      },
    );
  });
  pem.text.focus();
}

/** The pending list; empty (and invisible) when there is none. `reload` after creating one. */
export function pendingRequests(
  vault: Vault,
  onCompleted: (c: Certificate) => void,
): { element: HTMLElement; reload(): void } {
  const element = h('section', { class: 'pending-requests', 'aria-label': 'Pending requests' });
  const reload = (): void => {
    listPage<CertificateRequest>(`/vaults/${vault.id}/certificate-requests`, {
      status: 'pending',
      limit: String(PENDING_LIMIT),
    }).then(
      (page) => show(page.data, page.next_cursor !== null),
      (err: Error) => clear(element, errorBox(`Pending requests could not be read: ${err.message}`)),
    );
  };
  const show = (pending: CertificateRequest[], more: boolean): void => {
    if (pending.length === 0) {
      clear(element);
      return;
    }
    const rows = pending.map((r) => {
      const name = requestName(r);
      const remove = h(
        'button',
        { type: 'button', class: 'btn btn--small', 'aria-label': `Delete request ${name}` },
        'Delete',
      );
      remove.addEventListener('click', () =>
        confirmDialog({
          title: 'Delete certificate request',
          message: `“${name}” and the key vaultgate generated for it will be deleted. A certificate the CA signs from its CSR can then no longer be used.`,
          confirmLabel: 'Delete Request',
          action: async () => {
            await api('DELETE', `/vaults/${vault.id}/certificate-requests/${r.id}`);
            reload();
          },
        }),
      );
      return h(
        'tr',
        {},
        h('td', { 'data-label': 'Description' }, name),
        h('td', { 'data-label': 'Subject' }, r.subject),
        h('td', { 'data-label': 'Key' }, keyText(r)),
        h('td', { 'data-label': 'Created' }, formatDate(r.created_at)),
        h(
          'td',
          { class: 'cell-actions' },
          h(
            'button',
            {
              type: 'button',
              class: 'btn btn--small',
              'aria-label': `Download CSR ${name}`,
              onclick: () => downloadCsr(r),
            },
            'Download CSR',
          ),
          ' ',
          writable(
            'certificate_request.write',
            h(
              'button',
              {
                type: 'button',
                class: 'btn btn--small btn--primary',
                'aria-label': `Upload signed certificate ${name}`,
                onclick: () => openUploadSigned(vault, r, onCompleted),
              },
              'Upload signed certificate',
            ),
          ),
          ' ',
          writable('certificate_request.write', remove),
        ),
      );
    });
    clear(
      element,
      h('h3', {}, 'Pending requests'),
      h(
        'p',
        { class: 'muted' },
        'Send each CSR to the third party’s CA, then upload the certificate it signs.',
        more ? ` Showing the first ${PENDING_LIMIT}.` : '',
      ),
      h(
        'div',
        { class: 'table-wrap' },
        h(
          'table',
          { class: 'table' },
          h('caption', { class: 'visually-hidden' }, `Pending certificate requests of ${vault.name}`),
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Description'),
              h('th', { scope: 'col' }, 'Subject'),
              h('th', { scope: 'col' }, 'Key'),
              h('th', { scope: 'col' }, 'Created'),
              h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')),
            ),
          ),
          h('tbody', {}, ...rows),
        ),
      ),
    );
  };
  reload();
  return { element, reload };
}
