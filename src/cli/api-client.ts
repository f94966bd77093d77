import { readFileSync } from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';

/** A non-2xx answer of the management API, with its SPEC §5 code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/**
 * The API could not be reached at all (refused, unknown host, TLS failure): `error: <code>: …`,
 * exit code 1. The codes are the CLI's own: no answer came, so there is no SPEC §5 code.
 */
export class ConnectionError extends Error {
  constructor(
    readonly code: 'connection_failed' | 'tls_error',
    message: string,
  ) {
    super(message);
    this.name = 'ConnectionError';
  }
}

/** OpenSSL's and Node's codes for a server certificate that does not verify. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/** Sorts a failure to talk to `base` into what the user should check. */
export function connectionError(base: string, err: unknown): ConnectionError {
  const code = (err as { code?: string }).code ?? '';
  const origin = base.replace(/\/api\/v1$/, '');
  if (UNTRUSTED.has(code))
    return new ConnectionError(
      'tls_error',
      `the certificate of ${origin} is not trusted (${code}); pass the CA that signed it with --ca-file or VAULTGATE_CA_FILE.`,
    );
  if (code.startsWith('ERR_SSL') || code === 'EPROTO' || code.startsWith('ERR_TLS'))
    return new ConnectionError(
      'tls_error',
      `the TLS handshake with ${origin} failed (${code}); check that the admin listener speaks HTTPS, or use an http:// URL.`,
    );
  const reasons: Record<string, string> = {
    ECONNREFUSED: 'nothing listens there',
    ENOTFOUND: 'the host name is not found',
    EAI_AGAIN: 'the host name cannot be resolved just now',
    ECONNRESET: 'the connection was reset',
    EHOSTUNREACH: 'the host is unreachable',
    UND_ERR_SOCKET: 'the connection closed before an answer (an https:// listener called with http://?)',
    UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
    UND_ERR_HEADERS_TIMEOUT: 'no answer came in time',
  };
  const reason = reasons[code] ?? (err instanceof Error ? err.message : String(err));
  return new ConnectionError(
    'connection_failed',
    `cannot reach ${origin}: ${reason}${code === '' ? '' : ` (${code})`}; is vaultgate running, and are --url / VAULTGATE_URL right?`,
  );
}

export interface ApiClientOptions {
  /** The management API's base, e.g. http://127.0.0.1:8080 (with or without /api/v1). */
  url: string;
  token: string;
  /** A PEM bundle to trust for an HTTPS admin listener (VAULTGATE_ADMIN_TLS_*)… */
  caFile?: string;
  /** …or its text, already read. */
  ca?: string;
}

export interface ApiAnswer<T = unknown> {
  status: number;
  body: T;
}

/**
 * The CLI's one way to the management API: JSON in, JSON out, `Authorization: Bearer`, every non-2xx
 * answer raised as ApiError with its code. The token is only ever sent as a header.
 */
export class ApiClient {
  readonly #base: string;
  readonly #token: string;
  readonly #dispatcher: Dispatcher;

  constructor(options: ApiClientOptions) {
    const base = options.url.replace(/\/+$/, '');
    this.#base = base.endsWith('/api/v1') ? base : `${base}/api/v1`;
    this.#token = options.token;
    const ca =
      options.ca ?? (options.caFile === undefined ? undefined : readFileSync(options.caFile, 'utf8'));
    this.#dispatcher = new Agent({ connect: ca === undefined ? {} : { ca } });
  }

  /** `path` is relative to /api/v1 (leading slash), with its query string if any. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Dispatcher.ResponseData;
    let text: string;
    try {
      res = await request(`${this.#base}${path}`, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.#dispatcher,
      });
      text = await res.body.text();
    } catch (err) {
      throw connectionError(this.#base, err);
    }
    let parsed: unknown = undefined;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (res.statusCode >= 400) {
      const err = (parsed as { error?: { code?: string; message?: string; field?: string } } | undefined)
        ?.error;
      throw new ApiError(
        res.statusCode,
        err?.code ?? `http_${res.statusCode}`,
        err?.message ?? `The API answered ${res.statusCode}.`,
        err?.field,
      );
    }
    return { status: res.statusCode, body: parsed as T };
  }

  /** Every item of a paged list (SPEC §2 `limit`/`cursor`), page after page. */
  async list<T = unknown>(path: string, query: Record<string, string> = {}): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | null = null;
    do {
      const params = new URLSearchParams({ ...query, limit: '1000' });
      if (cursor !== null) params.set('cursor', cursor);
      const page: ApiAnswer<{ data: T[]; next_cursor?: string | null }> = await this.request(
        'GET',
        `${path}?${params}`,
      );
      out.push(...page.body.data);
      cursor = page.body.next_cursor ?? null;
    } while (cursor !== null);
    return out;
  }

  async close(): Promise<void> {
    await this.#dispatcher.close();
  }
}
