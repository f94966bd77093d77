/**
 * Matching host names against names that cover them, as browsers match a server certificate's DNS
 * names (RFC 6125 §6.4.3): a wildcard is the whole left-most label and stands for exactly one
 * non-empty label, so `*.acme.example` covers `api.acme.example` but neither `acme.example` nor
 * `a.b.acme.example`. All names here are already normalised (names.ts): lower-case, no trailing dot.
 */

const ASTERISK = 42;

/**
 * Whether a certificate scoped to `pattern` (an entry of its `hosts`) may be presented to `host`.
 * Allocation-free: runs once per candidate per upstream connection.
 */
export function hostMatches(pattern: string, host: string): boolean {
  if (pattern.charCodeAt(0) !== ASTERISK) return pattern === host;
  // "*.example.com": the host's first label must be non-empty and the rest must equal ".example.com".
  const dot = host.indexOf('.');
  if (dot <= 0 || host.length - dot !== pattern.length - 1) return false;
  for (let i = 1; i < pattern.length; i++) {
    if (pattern.charCodeAt(i) !== host.charCodeAt(dot + i - 1)) return false;
  }
  return true;
}

/**
 * The DNS name in one entry of a certificate's `sans` as stored (`DNS:api.acme.example`, see
 * certificates/names.ts formatGeneralNames) or given bare (`api.acme.example`), normalised; null for
 * any other kind of name (`IP:`, `email:`, `URI:` …), which never covers a host name.
 */
function dnsName(san: string): string | null {
  let name: string;
  if (/^dns:/i.test(san)) name = san.slice(4);
  else if (san.includes(':')) return null;
  else name = san;
  name = name.toLowerCase();
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/**
 * Whether a server certificate with these subject alternative names is valid, for a browser, on
 * `hostname` (an exact name or a one-label wildcard, normalised). An exact hostname is covered by the
 * same DNS name or by a wildcard SAN one label above it; a wildcard hostname (`*.acme.example`) serves
 * every name under it, so only the SAN `*.acme.example` itself covers it. A wildcard SAN over a
 * top-level domain (`*.example`) covers nothing: browsers and Node's checkServerIdentity refuse it.
 * The subject's CN is not consulted (RFC 6125 §6.4.4; browsers ignore it when SANs are present, and
 * Chrome ignores it always).
 */
export function certificateCoversHost(sans: readonly string[], hostname: string): boolean {
  const wildcardHost = hostname.charCodeAt(0) === ASTERISK;
  for (const san of sans) {
    const name = dnsName(san);
    if (name === null) continue;
    if (name === hostname) return true;
    if (wildcardHost || name.charCodeAt(0) !== ASTERISK || name.charCodeAt(1) !== 46 /* '.' */) continue;
    // Browsers support only a whole-label wildcard with at least two labels after it.
    if (name.indexOf('.', 2) < 0 || name.includes('*', 1)) continue;
    if (hostMatches(name, hostname)) return true;
  }
  return false;
}
