// Create or edit (PUT, whole replacement) a route with the SPEC §2 fields.

import { ApiError, api } from './api.js';
import { clear, errorBox, field, h, openDialog, showFieldError } from './dom.js';
import type { ProxyType, Route, UpstreamTls, Vault } from './types.js';

export function openRouteForm(
  vault: Vault,
  type: ProxyType,
  existing: Route | undefined,
  onSaved: () => void,
): void {
  const inbound = type === 'inbound';
  const tls: UpstreamTls = existing?.upstream_tls ?? { verify: true };
  const name = h('input', {
    type: 'text',
    value: existing?.tags['name'] ?? '',
    placeholder: inbound ? 'customer api' : 'visa',
  });
  const destination = h('input', {
    type: 'url',
    value: existing?.destination_override_endpoint ?? '',
    placeholder: 'https://api.customer.example:443',
    required: true,
  });
  const host = h('input', {
    type: 'text',
    value: existing?.host_endpoint ?? (inbound ? '(.*)' : ''),
    placeholder: inbound ? '(.*)' : 'api\\.visa\\.com',
    spellcheck: 'false',
  });
  const port = h('input', { type: 'number', min: '1', max: '65535', value: String(existing?.port ?? 443) });
  const protocol = h('select', {}, h('option', { value: 'http' }, 'http'));
  const source = h('input', { type: 'text', value: existing?.source_endpoint ?? '*' });
  const verify = h('input', { type: 'checkbox', id: 'route-verify', checked: tls.verify !== false });
  const servername = h('input', { type: 'text', value: tls.servername ?? '', placeholder: 'optional' });
  const caPem = h('textarea', { rows: '4', spellcheck: 'false', placeholder: '-----BEGIN CERTIFICATE-----' });
  caPem.value = tls.ca_pem ?? '';

  const fName = field('Name', name, 'Stored as tags.name.');
  const fDest = field(
    'Upstream URL',
    destination,
    'destination_override_endpoint: where requests are forwarded.',
  );
  const fHost = field(
    'Host endpoint',
    host,
    inbound
      ? 'Regular expression matched against the inbound host.'
      : 'Regular expression matched against the upstream host.',
  );
  const fPort = field('Port', port);
  const fProtocol = field('Protocol', protocol);
  const fSource = field('Source endpoint', source);
  const fServername = field('Server name (SNI)', servername);
  const fCa = field('Upstream CA (PEM)', caPem, 'Extra CA trusted for this upstream’s server certificate.');
  const verifyError = h('p', { class: 'field__error', hidden: true });
  const verifyRow = h(
    'div',
    { class: 'field checkbox' },
    verify,
    h('label', { for: verify.id }, 'Verify the upstream’s server certificate'),
    verifyError,
  );
  fDest.wrap.hidden = !inbound;

  const general = h('div', { class: 'dialog__error' });
  const save = h('button', { type: 'submit', class: 'btn btn--primary' }, 'Save');
  const form = h(
    'form',
    { class: 'dialog__body', novalidate: true },
    general,
    fName.wrap,
    fDest.wrap,
    fHost.wrap,
    h('div', { class: 'field-pair' }, fPort.wrap, fProtocol.wrap),
    fSource.wrap,
    h(
      'fieldset',
      { class: 'fieldset' },
      h('legend', {}, 'Upstream TLS'),
      verifyRow,
      fServername.wrap,
      fCa.wrap,
    ),
    h(
      'div',
      { class: 'dialog__actions' },
      h('button', { type: 'button', class: 'btn', onclick: () => handle.close() }, 'Cancel'),
      save,
    ),
  );
  const verb = existing ? 'Edit' : 'Add';
  const handle = openDialog(`${verb} ${type} route`, [form], { wide: true });

  const slots: Record<string, [Element, HTMLElement]> = {
    tags: [name, fName.error],
    destination_override_endpoint: [destination, fDest.error],
    host_endpoint: [host, fHost.error],
    port: [port, fPort.error],
    protocol: [protocol, fProtocol.error],
    source_endpoint: [source, fSource.error],
    servername: [servername, fServername.error],
    ca_pem: [caPem, fCa.error],
    verify: [verify, verifyError],
  };

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    clear(general);
    for (const [control, slot] of Object.values(slots)) showFieldError(control, slot, null);
    const upstreamTls: Record<string, unknown> = { verify: verify.checked };
    if (servername.value.trim()) upstreamTls['servername'] = servername.value.trim();
    if (caPem.value.trim()) upstreamTls['ca_pem'] = caPem.value;
    const body: Record<string, unknown> = {
      destination_override_endpoint: inbound ? destination.value.trim() : '*',
      host_endpoint: host.value.trim(),
      port: Number(port.value),
      protocol: protocol.value,
      source_endpoint: source.value.trim() || '*',
      tags: name.value.trim() ? { name: name.value.trim() } : {},
      entries: [],
      upstream_tls: upstreamTls,
    };
    save.disabled = true;
    const call = existing
      ? api('PUT', `/vaults/${vault.id}/routes/${existing.id}`, body)
      : api('POST', `/vaults/${vault.id}/routes`, body);
    call.then(
      () => {
        handle.close();
        onSaved();
      },
      (err: unknown) => {
        save.disabled = false;
        const message = err instanceof Error ? err.message : String(err);
        // A field may be named "upstream_tls.ca_pem" or "/upstream_tls/ca_pem": its last segment finds the slot.
        const key =
          err instanceof ApiError ? ((err.field ?? '').split(/[./]/).filter(Boolean).pop() ?? '') : '';
        const slot = slots[key] ?? (key === 'name' ? slots['tags'] : undefined);
        if (slot) showFieldError(slot[0], slot[1], message);
        else clear(general, errorBox(message));
      },
    );
  });
  (inbound ? destination : host).focus();
}
