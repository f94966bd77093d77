import { isIPv4, isIPv6 } from 'node:net';

/**
 * A host name that reached us from a client (CONNECT target, SNI) and failed validation. The outbound
 * proxy turns it into a 400; `code` is stable so it can do so without matching on messages.
 */
export class InvalidHostError extends Error {
  readonly code = 'invalid_host';
  readonly host: string;

  constructor(host: string, reason: string) {
    super(`invalid host ${JSON.stringify(host.slice(0, 300))}: ${reason}`);
    this.name = 'InvalidHostError';
    this.host = host;
  }
}

export interface NormalisedHost {
  kind: 'dns' | 'ip';
  /** Lower-case, no trailing dot, IPv6 without brackets and in canonical (RFC 5952) form. */
  name: string;
}

// Letters, digits, hyphen (RFC 1123 §2.1), plus underscore: it is not legal in a hostname but occurs in
// real service names, and refusing to intercept a host the client can reach helps nobody.
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** Validates and normalises a host given as a CONNECT target or SNI name (without port). */
export function normaliseHost(input: string): NormalisedHost {
  if (typeof input !== 'string' || input.length === 0) throw new InvalidHostError(String(input), 'empty');
  let host = input.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);

  if (isIPv4(host)) return { kind: 'ip', name: host };
  if (isIPv6(host)) {
    // Zone ids (fe80::1%eth0) name a local interface and cannot be written into a certificate.
    if (host.includes('%')) throw new InvalidHostError(input, 'IPv6 zone identifiers are not supported');
    // `::0:1` and `::1` are the same address; WHATWG URL serialises IPv6 canonically, so the cache
    // sees one entry and the certificate carries the same bytes either way.
    return { kind: 'ip', name: new URL(`http://[${host}]/`).hostname.slice(1, -1) };
  }

  if (host.endsWith('.')) host = host.slice(0, -1);
  // RFC 1035 §2.3.4: 255 octets on the wire is 253 characters written out.
  if (host.length === 0 || host.length > 253) throw new InvalidHostError(input, 'length must be 1 to 253');
  const labels = host.split('.');
  for (const label of labels) {
    if (!LABEL.test(label)) throw new InvalidHostError(input, 'not a valid host name');
  }
  // WHATWG URL treats a name whose last label is numeric as an IPv4 address (`127.1`, `0x7f.1`);
  // a DNS SAN for it would match nothing, and the client would not have sent it as a name.
  if (/^(?:\d+|0x[0-9a-f]*)$/.test(labels[labels.length - 1] ?? '')) {
    throw new InvalidHostError(input, 'looks like an IP address but is not one');
  }
  return { kind: 'dns', name: host };
}
