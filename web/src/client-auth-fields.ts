// Caller mTLS fields (SPEC §2 `client_auth`): the mode, the CA bundle callers' certificates must chain
// to, and optionally a CRL. Used by the hostname dialog and by the default hostname's control.

import { field, h } from './dom.js';
import { modeText } from './format.js';
import { pemField, type Slot } from './key-material.js';
import type { ClientAuth, ClientAuthMode } from './types.js';

const MODE_HINT: Record<ClientAuthMode, string> = {
  off: 'No client certificate is asked of callers.',
  optional: 'A certificate a caller presents is verified against the CA bundle; callers without one pass.',
  required: 'Callers without a valid certificate from the CA bundle are refused.',
};

export interface ClientAuthFields {
  wrap: HTMLElement;
  /** Error slots by dotted API field, under the given prefix (`client_auth.ca_pem`, …). */
  slots: Record<string, Slot>;
  mode: HTMLSelectElement;
  /** What to send: the mode, and the PEM texts that were given. */
  value(): { mode: ClientAuthMode; ca_pem?: string; crl_pem?: string };
  /** True when nothing was changed from `current` (same mode, no new bundle or CRL). */
  unchanged(): boolean;
}

export function clientAuthFields(opts: {
  prefix: string;
  current?: ClientAuth | null;
  withCrl: boolean;
  legend: string;
  /**
   * Whether leaving the section untouched keeps the stored bundle (a hostname's PUT without
   * `client_auth`). Otherwise every save sends the settings whole, and the API needs the bundle again.
   */
  keepsWhenUntouched: boolean;
}): ClientAuthFields {
  const current: ClientAuth = opts.current ?? { mode: 'off', ca_subjects: [], crl: false };
  const mode = h(
    'select',
    { name: `${opts.prefix}.mode` },
    ...(['off', 'optional', 'required'] as const).map((m) =>
      h('option', { value: m, selected: m === current.mode }, modeText(m)),
    ),
  );
  const fMode = field('Caller mTLS', mode, MODE_HINT[current.mode]);
  const hint = fMode.wrap.querySelector('.field__hint');
  const subjects = current.ca_subjects;
  const ca = pemField(
    'CA bundle (PEM)',
    `${opts.prefix}.ca_pem`,
    subjects.length
      ? `Now trusted: ${subjects.join('; ')}${current.crl ? ' (with a CRL)' : ''}. ` +
          (opts.keepsWhenUntouched
            ? 'Leave the mode and these fields as they are to keep them; a change needs the bundle again.'
            : 'Saving sends the bundle again: paste or upload it with any change.')
      : 'The CA certificates that sign your callers’ client certificates.',
    '-----BEGIN CERTIFICATE-----',
  );
  const crl = opts.withCrl
    ? pemField(
        'CRL (PEM, optional)',
        `${opts.prefix}.crl_pem`,
        'Revoked caller certificates are refused.',
        '-----BEGIN X509 CRL-----',
      )
    : null;
  const sync = (): void => {
    const m = mode.value as ClientAuthMode;
    if (hint) hint.textContent = MODE_HINT[m];
    ca.wrap.hidden = m === 'off';
    if (crl) crl.wrap.hidden = m === 'off';
  };
  mode.addEventListener('change', sync);
  sync();

  const slots: Record<string, Slot> = {
    [`${opts.prefix}.mode`]: [mode, fMode.error],
    [`${opts.prefix}.ca_pem`]: [ca.text, ca.error],
  };
  if (crl) slots[`${opts.prefix}.crl_pem`] = [crl.text, crl.error];
  // An error naming only the object (`client_auth`) goes beside the mode.
  slots[opts.prefix] = [mode, fMode.error];

  return {
    wrap: h('fieldset', { class: 'fieldset' }, h('legend', {}, opts.legend), fMode.wrap, ca.wrap, crl?.wrap),
    slots,
    mode,
    value() {
      const m = mode.value as ClientAuthMode;
      const out: { mode: ClientAuthMode; ca_pem?: string; crl_pem?: string } = { mode: m };
      if (m === 'off') return out;
      if (ca.text.value.trim()) out.ca_pem = ca.text.value;
      if (crl?.text.value.trim()) out.crl_pem = crl.text.value;
      return out;
    },
    unchanged() {
      return mode.value === current.mode && !ca.text.value.trim() && !crl?.text.value.trim();
    },
  };
}
