/**
 * Header hygiene shared by the inbound and outbound proxies. Works on Node's `rawHeaders` (a flat
 * [name, value, name, value…] list) so order, case and repeated fields survive untouched, and the
 * result is handed to Node in the same flat form — no per-request object merging.
 */

/**
 * Hop-by-hop fields (RFC 9110 §7.6.1) plus the proxy ones of RFC 9112 / RFC 7235 §4.3-4.4 and the
 * non-standard Proxy-Connection. `Trailer` is left out on purpose: RFC 9110 §6.6.2 makes it an
 * end-to-end field, and since trailers are relayed, the receiver needs the announcement.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authorization',
  'proxy-authenticate',
  'proxy-connection',
  'te',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Request fields vaultgate sets itself. X-Forwarded-Client-Cert is always dropped from what the
 * caller sent (SPEC §2): only an identity vaultgate verified may reach the upstream under that name.
 */
const REPLACED = new Set(['host', 'x-forwarded-proto', 'x-forwarded-host', 'x-forwarded-client-cert']);

export interface ForwardedInfo {
  /** Address of the client that connected to vaultgate; appended to X-Forwarded-For. */
  for: string;
  /** Scheme the client used toward vaultgate. */
  proto: 'http' | 'https';
  /** Host the client asked vaultgate for. */
  host: string;
  /** The verified caller certificate in Envoy's XFCC format (caller-identity.ts), if any. */
  clientCert?: string | null | undefined;
}

/** Field names listed in Connection (RFC 9110 §7.6.1): hop-by-hop for this message only. */
function connectionTokens(raw: readonly string[]): Set<string> | null {
  let tokens: Set<string> | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'connection') continue;
    for (const token of (raw[i + 1] as string).split(',')) {
      const name = token.trim().toLowerCase();
      if (name !== '') (tokens ??= new Set()).add(name);
    }
  }
  return tokens;
}

/**
 * Headers for the upstream request. `hostHeader` replaces Host. With `forwarded`, X-Forwarded-For is
 * appended to (keeping earlier hops), X-Forwarded-Proto and -Host are set; without it (e.g. a forward
 * proxy that should not reveal its clients) they pass unchanged. `TE: trailers` survives, since it
 * says the client accepts trailers (gRPC relies on it). A chunked body is declared explicitly: Node
 * would otherwise send a GET/DELETE body without framing.
 */
export function upstreamRequestHeaders(
  raw: readonly string[],
  hostHeader: string,
  forwarded: ForwardedInfo | null,
  body: 'none' | 'length' | 'chunked',
  method: string,
  /** request-id.ts: replaces whatever X-Request-Id the client sent (the same value when it was sane). */
  requestId?: string,
): string[] {
  const named = connectionTokens(raw);
  const out: string[] = ['Host', hostHeader];
  let xff: string | null = null;
  let teTrailers = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'te') {
      teTrailers ||= value.split(',').some((t) => t.split(';')[0]?.trim().toLowerCase() === 'trailers');
      continue;
    }
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    if (lower === 'host') continue;
    if (requestId !== undefined && lower === 'x-request-id') continue;
    if (forwarded !== null) {
      if (REPLACED.has(lower)) continue;
      if (lower === 'x-forwarded-for') {
        xff = xff === null ? value : `${xff}, ${value}`;
        continue;
      }
    }
    out.push(name, value);
  }
  if (teTrailers) out.push('TE', 'trailers');
  if (requestId !== undefined) out.push('X-Request-Id', requestId);
  if (forwarded !== null) {
    out.push('X-Forwarded-For', xff === null ? forwarded.for : `${xff}, ${forwarded.for}`);
    out.push('X-Forwarded-Proto', forwarded.proto, 'X-Forwarded-Host', forwarded.host);
    if (forwarded.clientCert) out.push('X-Forwarded-Client-Cert', forwarded.clientCert);
  }
  if (body === 'chunked') out.push('Transfer-Encoding', 'chunked');
  // A bodiless POST/PUT/PATCH would otherwise go out as an empty chunked body (Node's default for
  // those methods), which some servers treat as "length required".
  else if (body === 'none' && !BODYLESS_BY_DEFAULT.has(method)) out.push('Content-Length', '0');
  return out;
}

/** Methods for which Node's client sends no body framing when given none. */
const BODYLESS_BY_DEFAULT = new Set(['GET', 'HEAD', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT']);

/**
 * Headers for the client response. Framing (Content-Length or chunked) is re-decided by Node for the
 * client connection, so Transfer-Encoding goes; Content-Length stays and keeps its meaning.
 */
export function clientResponseHeaders(raw: readonly string[], requestId?: string): string[] {
  const named = connectionTokens(raw);
  const out: string[] = [];
  for (let i = 0; i < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(lower) || named?.has(lower)) continue;
    // The client gets the id vaultgate logged and sent upstream, whatever the upstream echoes.
    if (requestId !== undefined && lower === 'x-request-id') continue;
    out.push(raw[i] as string, raw[i + 1] as string);
  }
  if (requestId !== undefined) out.push('X-Request-Id', requestId);
  return out;
}

/** Trailers as Node collects them into `rawTrailers`, in the form `addTrailers` accepts. */
export function trailerPairs(raw: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}
