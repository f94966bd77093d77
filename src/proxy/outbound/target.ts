import { normaliseHost } from '../../hosts/names.js';

/** Where a CONNECT tunnel or an absolute-form request goes. Built once per tunnel. */
export interface ProxyTarget {
  /** Normalised: lower-case, no trailing dot, IPv6 without brackets. */
  readonly host: string;
  readonly kind: 'dns' | 'ip';
  readonly port: number;
  /** `https://host:port` for a tunnel, `http://host:port` for absolute-form. */
  readonly origin: URL;
  /** `host:port` (brackets around IPv6), for log lines. */
  readonly authority: string;
}

/** A request target we cannot proxy; `message` is written for the client (400). */
export class BadTargetError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadTargetError';
  }
}

// RFC 9112 §3.2.3: the CONNECT request-target is authority-form, `uri-host ":" port`, and the port
// is required (RFC 9110 §9.3.6) — there is no default for a tunnel.
const AUTHORITY = /^(\[[0-9A-Fa-f:.%a-zA-Z]+\]|[^:[\]/?#@\s]+):(\d{1,5})$/;

export function parseConnectTarget(authority: string | undefined): ProxyTarget {
  const shown = JSON.stringify((authority ?? '').slice(0, 200));
  const match = AUTHORITY.exec(authority ?? '');
  if (match === null) {
    throw new BadTargetError(
      `CONNECT needs a target of the form host:port (e.g. api.example.com:443), not ${shown}.`,
    );
  }
  return build('https:', match[1] as string, Number(match[2]), shown);
}

/**
 * An absolute-form request-target (RFC 9112 §3.2.2), the only form a forward proxy accepts outside a
 * tunnel. Only `http:`: an `https:` URL sent in clear would ask the proxy to open TLS on the client's
 * behalf, which a client that wants TLS does with CONNECT instead.
 */
export function parseAbsoluteTarget(url: string): { target: ProxyTarget; path: string } {
  const shown = JSON.stringify(url.slice(0, 200));
  if (url.startsWith('/') || url === '*') {
    throw new BadTargetError(
      `This is vaultgate's outbound forward proxy: send absolute-form requests (GET http://host/path) or CONNECT host:port, not ${shown}. Configure it as HTTP_PROXY / HTTPS_PROXY.`,
    );
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new BadTargetError(`The request target ${shown} is not a valid absolute URL.`);
  }
  if (parsed.protocol !== 'http:') {
    throw new BadTargetError(
      `Only http:// URLs can be sent to the proxy in absolute form; for ${parsed.protocol}// use CONNECT (set HTTPS_PROXY), not ${shown}.`,
    );
  }
  if (parsed.username !== '' || parsed.password !== '') {
    throw new BadTargetError('The request URL must not carry user information (RFC 9110 §4.2.4).');
  }
  const port = parsed.port === '' ? 80 : Number(parsed.port);
  return { target: build('http:', parsed.hostname, port, shown), path: parsed.pathname + parsed.search };
}

function build(scheme: 'http:' | 'https:', rawHost: string, port: number, shown: string): ProxyTarget {
  if (port < 1 || port > 65535) throw new BadTargetError(`The port in ${shown} must be between 1 and 65535.`);
  let normalised;
  try {
    normalised = normaliseHost(rawHost);
  } catch (err) {
    throw new BadTargetError(`The host in ${shown} is not valid: ${(err as Error).message}.`);
  }
  const { kind, name } = normalised;
  const hostForUrl = kind === 'ip' && name.includes(':') ? `[${name}]` : name;
  return {
    host: name,
    kind,
    port,
    origin: new URL(`${scheme}//${hostForUrl}:${port}`),
    authority: `${hostForUrl}:${port}`,
  };
}
