/**
 * Host names, one rule for every place one enters vaultgate: CONNECT targets and SNI names the
 * outbound proxy intercepts (`normaliseHost`), a certificate's `hosts` (`validateHosts`), an inbound
 * custom hostname (`parseHostnamePattern`), a route's `upstream_tls.servername` (`parseHostname`) and
 * `VAULTGATE_DOMAIN` (`isHostname`).
 *
 * The rule: 1 to 253 characters written out (RFC 1035 §2.3.4: 255 octets on the wire), labels of 1 to
 * 63 letters, digits, hyphens and underscores, no hyphen at either end of a label, and a last label
 * that is not numeric (see IP_LIKE_LAST_LABEL).
 *
 * Underscore is accepted everywhere. It is not legal in a hostname (RFC 1123 §2.1), but it occurs in
 * real service names (`my_svc.internal`, Docker Compose services, `_acme-challenge` records), clients
 * connect to them, and the outbound proxy has always intercepted them. A certificate's `hosts` must be
 * able to name every host the proxy intercepts, or such a host could only ever get an unscoped
 * certificate; refusing to intercept instead would break clients that work today. So both accept the
 * same set, and so do the other fields, so that no two places disagree on what a host name is.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { VaultgateError } from '../errors.js';

/** A certificate's `hosts` lists at most this many names (SPEC §2). */
export const MAX_HOSTS = 100;
export const MAX_HOSTNAME_LENGTH = 253;

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
// WHATWG URL treats a name whose last label is numeric as an IPv4 address (`127.1`, `0x7f.1`): a DNS
// SAN for it would match nothing, a client would not send it as a name, and a wildcard over it
// (`*.0.0.1`) would look like an IP range.
const IP_LIKE_LAST_LABEL = /^(?:\d+|0x[0-9a-f]*)$/;
// Characters of a URL around a host: someone pasted a URL or `host:port` where a bare name belongs.
const URL_PARTS = /[/:@?#\s[\]]/;

type NameProblem = 'length' | 'label' | 'ip-like';

/** What is wrong with `name` (lower-case, no trailing dot, no wildcard), or null for a host name. */
function nameProblem(name: string): NameProblem | null {
  if (name.length === 0 || name.length > MAX_HOSTNAME_LENGTH) return 'length';
  const labels = name.split('.');
  for (const label of labels) {
    if (!LABEL.test(label)) return 'label';
  }
  return IP_LIKE_LAST_LABEL.test(labels[labels.length - 1] as string) ? 'ip-like' : null;
}

/** Whether `name` is a host name as written: lower-case, without a trailing dot, no wildcard. */
export function isHostname(name: string): boolean {
  return nameProblem(name) === null;
}

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

const NORMALISE_REASON: Record<NameProblem, string> = {
  length: 'length must be 1 to 253',
  label: 'not a valid host name',
  'ip-like': 'looks like an IP address but is not one',
};

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
  const problem = nameProblem(host);
  if (problem !== null) throw new InvalidHostError(input, NORMALISE_REASON[problem]);
  return { kind: 'dns', name: host };
}

/**
 * One host name typed by a user into `field`: trimmed, lower-cased, trailing dot removed. With
 * `wildcard`, a one-label wildcard (`*.acme.example`, RFC 6125 §6.4.3) is accepted too. Throws
 * invalid_field on `field` with a sentence saying what to write instead.
 */
function parseName(entry: string, field: string, wildcard: boolean): string {
  const host = entry.trim().toLowerCase().replace(/\.$/, '');
  const shown = JSON.stringify(entry.slice(0, 80));
  const fail = (why: string): never => {
    throw new VaultgateError('invalid_field', `${field}: ${shown} ${why}`, field);
  };
  if (host.length === 0 || host.length > MAX_HOSTNAME_LENGTH) {
    fail('is not a host name (1 to 253 characters, such as "api.acme.example").');
  }
  if (URL_PARTS.test(host)) {
    fail(
      'is not a bare host name; give the name only, without scheme, port or path (e.g. "api.acme.example").',
    );
  }
  if (isIP(host) !== 0) {
    fail('is an IP address; give a host name instead, such as "api.acme.example".');
  }
  const isWildcard = host.startsWith('*.') || host === '*';
  const rest = isWildcard ? host.slice(2) : host;
  if (rest.includes('*')) {
    fail(
      wildcard
        ? 'has a misplaced wildcard; a wildcard must be the whole first label, as in "*.acme.example".'
        : 'contains "*"; give one exact host name, such as "api.acme.example".',
    );
  }
  if (isWildcard && !wildcard) fail('is a wildcard; give one exact host name, such as "api.acme.example".');
  // A wildcard over a top-level domain (`*.com`) is refused by browsers and by Node's
  // checkServerIdentity alike; it would scope nothing.
  if (isWildcard && !rest.includes('.')) {
    fail('is too wide: a wildcard needs at least two labels after it, as in "*.acme.example".');
  }
  switch (nameProblem(rest)) {
    case null:
      return host;
    case 'ip-like':
      return fail('is not a host name: its last label is numeric, as in an IP address.');
    default:
      return fail(
        'is not a valid host name: labels use letters, digits, underscores and inner hyphens, up to 63 characters each.',
      );
  }
}

/**
 * One exact host name or a one-label wildcard (`*.acme.example`) for `field`, lower-cased and without
 * its trailing dot; never an IP address. Throws invalid_field on `field`.
 */
export function parseHostnamePattern(input: unknown, field: string): string {
  if (typeof input !== 'string') {
    throw new VaultgateError(
      'invalid_field',
      `${field} must be a string: a host name such as "api.acme.example", or a wildcard such as "*.acme.example".`,
      field,
    );
  }
  return parseName(input, field, true);
}

/** One exact host name for `field` (no wildcard, not an IP address), normalised as above. */
export function parseHostname(input: unknown, field: string): string {
  if (typeof input !== 'string') {
    throw new VaultgateError(
      'invalid_field',
      `${field} must be a host name such as "api.acme.example".`,
      field,
    );
  }
  return parseName(input, field, false);
}

/**
 * A certificate's `hosts`: the upstream hostnames it may be presented to (SPEC §2, §4), normalised,
 * duplicates removed. Absent (undefined or null) means "any host".
 */
export function validateHosts(hosts: unknown): string[] {
  if (hosts === undefined || hosts === null) return [];
  const invalid = (message: string) => new VaultgateError('invalid_field', message, 'hosts');
  if (!Array.isArray(hosts))
    throw invalid('hosts must be a list of hostnames, e.g. ["api.visa.com", "*.mastercard.com"].');
  if (hosts.length > MAX_HOSTS) throw invalid(`hosts may list at most ${MAX_HOSTS} hostnames.`);
  const out: string[] = [];
  for (const entry of hosts as unknown[]) {
    if (typeof entry !== 'string') throw invalid('Every entry in hosts must be a string hostname.');
    const host = parseName(entry, 'hosts', true);
    if (!out.includes(host)) out.push(host);
  }
  return out;
}
