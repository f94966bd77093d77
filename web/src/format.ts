// Words the screens share for API values: certificate status, warnings, display names.

import { h } from './dom.js';
import type { Certificate, CertificateStatus, ClientAuthMode, Route, Warning } from './types.js';

const STATUS_TEXT: Record<CertificateStatus, string> = {
  valid: 'valid',
  expiring_soon: 'expiring soon',
  expired: 'expired',
  not_yet_valid: 'not yet valid',
};

const WARNING_TEXT: Record<string, string> = {
  expires_soon: 'The certificate expires within 30 days; upload its renewal soon.',
  not_yet_valid: 'The certificate is not valid yet; it will be presented from its start date.',
  missing_client_auth_usage:
    'The certificate’s extended key usage does not include client authentication; the third party may refuse it.',
  incomplete_chain:
    'The issuer’s certificate was not included; add the intermediate certificates if the third party needs them.',
  ca_certificate: 'This is a CA certificate, not a client certificate.',
  missing_server_auth_usage:
    'The certificate’s extended key usage does not include server authentication; callers may refuse it.',
  extra_certificates_dropped:
    'Certificates that are not part of this certificate’s chain were left out; only the chain is stored.',
  duplicate:
    'The same certificate is already tied to this credential or route; both are kept. Delete the older copy if it is not needed.',
};

export function statusBadge(status: CertificateStatus): HTMLElement {
  return h('span', { class: `badge badge--${status}` }, STATUS_TEXT[status] ?? status);
}

export function warningText(w: Warning): string {
  return WARNING_TEXT[w] ?? w;
}

const MODE_TEXT: Record<ClientAuthMode, string> = {
  off: 'Off',
  optional: 'Optional',
  required: 'Required',
};

/** Caller mTLS mode as shown in tables and the preview. */
export function modeText(mode: ClientAuthMode): string {
  return MODE_TEXT[mode] ?? mode;
}

export function certificateName(c: Certificate): string {
  return c.description || c.subject;
}

export function routeName(r: Route): string {
  return r.tags['name'] || (r.type === 'inbound' ? r.destination_override_endpoint : r.host_endpoint);
}
