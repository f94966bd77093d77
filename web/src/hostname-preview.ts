// A hostname's preview: the server certificate callers will see (so users can check it is the one
// the card network expects) and the caller mTLS it asks for. Only the public chain reaches the page.

import { api } from './api.js';
import { clear, copyButton, errorBox, formatDateTime, h, loading, openDialog } from './dom.js';
import { modeText, statusBadge } from './format.js';
import type { ChainEntry, Hostname, Vault } from './types.js';

function row(label: string, value: Node | string): HTMLElement[] {
  return [h('dt', {}, label), h('dd', {}, value)];
}

function chainList(chain: ChainEntry[]): Node | string {
  if (chain.length === 0) return 'Leaf only';
  return h(
    'ol',
    { class: 'chain' },
    ...chain.map((e) =>
      h(
        'li',
        {},
        e.subject,
        h('span', { class: 'muted' }, ` — signed by ${e.issuer}, until ${formatDateTime(e.not_after)}`),
      ),
    ),
  );
}

export function openHostnamePreview(vault: Vault, id: string): void {
  const content = h('div', { class: 'dialog__body', 'aria-busy': 'true' }, loading('Loading hostname…'));
  const handle = openDialog('Hostname', [content], { wide: true });
  api<Hostname>('GET', `/vaults/${vault.id}/hostnames/${id}`).then(
    (x) => {
      content.removeAttribute('aria-busy');
      const title = handle.dialog.querySelector('h2');
      if (title) title.textContent = x.hostname;
      const pem = x.certificate_pem ?? '';
      const subjects = x.client_auth.ca_subjects ?? [];
      clear(
        content,
        h(
          'dl',
          { class: 'details' },
          ...row('Hostname', h('code', { class: 'break' }, x.hostname)),
          ...row('Signer', x.issuer),
          ...row('Subject', x.subject),
          ...(x.serial_number ? row('Serial number', h('code', {}, x.serial_number)) : []),
          ...(x.not_before ? row('Valid from', formatDateTime(x.not_before)) : []),
          ...row('Valid until', h('span', {}, formatDateTime(x.not_after), ' ', statusBadge(x.status))),
          ...row('SHA-256 fingerprint', h('code', { class: 'break' }, x.fingerprint_sha256)),
          ...row('SANs', x.sans.length ? x.sans.join(', ') : 'None'),
          ...(x.chain ? row('Chain', chainList(x.chain)) : []),
          ...row(
            'Caller mTLS',
            modeText(x.client_auth.mode) + (x.client_auth.crl ? ', with a CRL of revoked callers' : ''),
          ),
          ...(x.client_auth.mode !== 'off'
            ? row(
                'Trusted caller CAs',
                subjects.length
                  ? h('ul', { class: 'chain' }, ...subjects.map((s) => h('li', {}, s)))
                  : 'None',
              )
            : []),
          ...row('Added', formatDateTime(x.created_at)),
        ),
        h(
          'div',
          { class: 'pem-head' },
          h('h3', {}, 'Server certificate (PEM)'),
          copyButton('Copy', () => pem, 'Copy server certificate PEM'),
        ),
        h('pre', { class: 'pem', tabindex: '0', 'aria-label': 'Server certificate PEM' }, pem),
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
