/**
 * The `hosts` of a certificate: the upstream hostnames it may be presented to (SPEC §2, §4).
 * A wildcard covers exactly one label, as in RFC 6125 §6.4.3 for server certificates: `*.example.com`
 * matches `api.example.com`, not `example.com` nor `a.b.example.com`.
 */
import { isIP } from 'node:net';
import { VaultgateError } from '../errors.js';

export const MAX_HOSTS = 100;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function invalid(message: string): VaultgateError {
  return new VaultgateError('invalid_field', message, 'hosts');
}

/** Normalises and checks `hosts`; absent (undefined or null) means "any host". */
export function validateHosts(hosts: unknown): string[] {
  if (hosts === undefined || hosts === null) return [];
  if (!Array.isArray(hosts))
    throw invalid('hosts must be a list of hostnames, e.g. ["api.visa.com", "*.mastercard.com"].');
  if (hosts.length > MAX_HOSTS) throw invalid(`hosts may list at most ${MAX_HOSTS} hostnames.`);
  const out: string[] = [];
  for (const entry of hosts as unknown[]) {
    if (typeof entry !== 'string') throw invalid('Every entry in hosts must be a string hostname.');
    const host = entry.trim().toLowerCase().replace(/\.$/, '');
    const shown = JSON.stringify(entry.slice(0, 80));
    if (host.length === 0 || host.length > 253) throw invalid(`${shown} is not a hostname.`);
    if (/[/:@?#\s[\]]/.test(host)) {
      throw invalid(
        `${shown} is not a bare hostname: give the name only, without scheme, port or path (e.g. "api.visa.com").`,
      );
    }
    if (isIP(host) !== 0)
      throw invalid(
        `${shown} is an IP address; hosts takes hostnames (the name the upstream is reached by).`,
      );
    const labels = host.split('.');
    const wildcard = labels[0] === '*';
    const rest = wildcard ? labels.slice(1) : labels;
    if (rest.some((l) => l.includes('*'))) {
      throw invalid(`${shown}: a wildcard must be a whole first label, as in "*.mastercard.com".`);
    }
    if (wildcard && rest.length < 2) {
      throw invalid(`${shown}: a wildcard needs at least two labels after it, as in "*.mastercard.com".`);
    }
    if (!rest.every((l) => LABEL.test(l))) {
      throw invalid(
        `${shown} is not a valid hostname: labels use letters, digits and inner hyphens, up to 63 characters.`,
      );
    }
    // A numeric top-level label would make "*.0.0.1" look like an IP-address wildcard.
    if (/^\d+$/.test(rest[rest.length - 1] as string))
      throw invalid(`${shown} is not a hostname (its last label is numeric).`);
    if (!out.includes(host)) out.push(host);
  }
  return out;
}

/**
 * Whether a certificate scoped to `pattern` may be presented to `host` (both lower-case, `host`
 * without a trailing dot). Allocation-free: runs once per candidate per upstream connection.
 */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern.charCodeAt(0) !== 42 /* '*' */) return pattern === host;
  // "*.example.com": the host's first label must be non-empty and the rest must equal ".example.com".
  const dot = host.indexOf('.');
  if (dot <= 0 || host.length - dot !== pattern.length - 1) return false;
  for (let i = 1; i < pattern.length; i++) {
    if (pattern.charCodeAt(i) !== host.charCodeAt(dot + i - 1)) return false;
  }
  return true;
}
