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

export interface ApiClientOptions {
  /** The management API's base, e.g. http://127.0.0.1:8080 (with or without /api/v1). */
  url: string;
  token: string;
  /** A PEM bundle to trust for an HTTPS admin listener (VAULTGATE_ADMIN_TLS_*). */
  caFile?: string;
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
    const ca = options.caFile === undefined ? undefined : readFileSync(options.caFile, 'utf8');
    this.#dispatcher = new Agent({ connect: ca === undefined ? {} : { ca } });
  }

  /** `path` is relative to /api/v1 (leading slash), with its query string if any. */
  async request<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.#token}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await request(`${this.#base}${path}`, {
      method: method as Dispatcher.HttpMethod,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      dispatcher: this.#dispatcher,
    });
    const text = await res.body.text();
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
