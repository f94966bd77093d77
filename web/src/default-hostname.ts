// The vault's default inbound host (<vault id>.<environment>.<domain>, served with vaultgate's
// local-CA certificate) and its caller mTLS, set with PATCH /vaults/{id} `inbound_client_auth`.

import { api } from './api.js';
import { clientAuthFields } from './client-auth-fields.js';
import { clear, errorBox, h, loading, showFieldError } from './dom.js';
import { modeText } from './format.js';
import { errorField } from './key-material.js';
import { allowed, writable } from './roles.js';
import type { Vault } from './types.js';

export function defaultHostnamePanel(vault: Vault): HTMLElement {
  const panel = h(
    'section',
    { class: 'panel', 'aria-labelledby': 'default-hostname-title' },
    loading('Loading the default hostname…'),
  );
  const head = (current: Vault): HTMLElement[] => [
    h('h3', { id: 'default-hostname-title' }, 'Default hostname'),
    h(
      'p',
      { class: 'muted' },
      h('code', { class: 'break' }, current.inbound_host),
      ' — served with vaultgate’s local-CA certificate.',
    ),
  ];
  // A role that may not change caller mTLS sees what is set, as text.
  const show = (current: Vault): void => {
    const auth = current.inbound_client_auth;
    clear(
      panel,
      ...head(current),
      h(
        'dl',
        { class: 'details' },
        h('dt', {}, 'Caller mTLS'),
        h('dd', {}, modeText(auth.mode)),
        ...(auth.mode !== 'off'
          ? [
              h('dt', {}, 'Trusted caller CAs'),
              h(
                'dd',
                {},
                auth.ca_subjects.length
                  ? h('ul', { class: 'chain' }, ...auth.ca_subjects.map((s) => h('li', {}, s)))
                  : 'None',
              ),
            ]
          : []),
      ),
    );
  };
  const draw = (current: Vault, notice?: Node): void => {
    const fields = clientAuthFields({
      prefix: 'inbound_client_auth',
      current: current.inbound_client_auth,
      withCrl: false,
      keepsWhenUntouched: false,
      legend: 'Callers of the default hostname (mTLS)',
    });
    const general = h('div', { 'aria-live': 'polite' }, notice);
    const save = h('button', { type: 'submit', class: 'btn' }, 'Save caller mTLS');
    const form = h('form', { novalidate: true }, fields.wrap, general, save);
    clear(panel, ...head(current), writable('client_auth.write', form));
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      clear(general);
      for (const [control, slot] of Object.values(fields.slots)) showFieldError(control, slot, null);
      save.disabled = true;
      api<Vault>('PATCH', `/vaults/${vault.id}`, { inbound_client_auth: fields.value() }).then(
        (saved) =>
          draw(
            saved,
            h(
              'p',
              { class: 'alert alert--success', role: 'status' },
              `Caller mTLS of the default hostname: ${modeText(fields.value().mode)}.`,
            ),
          ),
        (err: unknown) => {
          save.disabled = false;
          const message = err instanceof Error ? err.message : String(err);
          const slot = fields.slots[errorField(err)];
          if (slot) showFieldError(slot[0], slot[1], message);
          else clear(general, errorBox(message));
        },
      );
    });
  };
  // The vault list the shell holds may predate a change made here, so the vault is read afresh; the
  // form appears only then, so nothing typed into it is redrawn away.
  api<Vault>('GET', `/vaults/${vault.id}`).then(
    (fresh) => (allowed('client_auth.write') ? draw(fresh) : show(fresh)),
    (err: Error) => clear(panel, errorBox(err.message)),
  );
  return panel;
}
