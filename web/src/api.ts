// The one road to the management API: same-origin fetch with the session cookie, plus the CSRF
// header that cookie-authenticated writes must carry (src/api/auth.ts).

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

let csrfToken: string | null = null;
let onSessionLost: ((message: string) => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/**
 * Called with the API's message when a call answers 401 while signed in: the session expired, was
 * signed out elsewhere, or its token was deleted or has expired.
 */
export function whenSessionLost(handler: (message: string) => void): void {
  onSessionLost = handler;
}

async function send(method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrfToken) headers['x-csrf-token'] = csrfToken;
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
    });
  } catch {
    throw new ApiError(0, 'network_error', 'vaultgate could not be reached; check that it is running.');
  }
  if (!res.ok) throw await toError(res, path);
  return res;
}

async function toError(res: Response, path: string): Promise<ApiError> {
  let parsed: { error?: { code?: string; message?: string; field?: string } } = {};
  try {
    parsed = (await res.json()) as typeof parsed;
  } catch {
    // A non-JSON error (a proxy in between, say): fall back to the status line below.
  }
  const e = parsed.error ?? {};
  const message = e.message ?? `The request failed (HTTP ${res.status}).`;
  if (res.status === 401 && path !== '/session' && onSessionLost) onSessionLost(message);
  return new ApiError(res.status, e.code ?? 'http_' + res.status, message, e.field);
}

/** Calls the API and unwraps `{data}`; a 204 gives undefined. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  if (res.status === 204) return undefined as T;
  return ((await res.json()) as { data: T }).data;
}

/** One page of a list (SPEC §2 "Lists"): its items, and the cursor of the next page (null: last). */
export interface ListPage<T> {
  data: T[];
  next_cursor: string | null;
}

/**
 * One page of a list. Parameters without a value are left out, so a filter control left at "any"
 * simply sends nothing. Screens show one page at a time and never follow every cursor: a vault may
 * hold 10,000 certificates.
 */
export async function listPage<T>(
  path: string,
  params: Record<string, string | null | undefined> = {},
): Promise<ListPage<T>> {
  const query = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) if (value) query.set(name, value);
  const qs = query.toString();
  const res = await send('GET', qs ? `${path}?${qs}` : path);
  const body = (await res.json()) as { data: T[]; next_cursor?: string | null };
  return { data: body.data, next_cursor: body.next_cursor ?? null };
}

/**
 * The first 1,000 items (the API's largest page), for choices that list a whole collection — the
 * vault picker, the credential and route of a certificate. Bounded on purpose; `more` tells whether
 * the collection goes on.
 */
export async function firstItems<T>(path: string): Promise<{ items: T[]; more: boolean }> {
  const page = await listPage<T>(path, { limit: '1000' });
  return { items: page.data, more: page.next_cursor !== null };
}

/** Fetches a file (it needs the cookie, so a plain link would not do) and hands it to the browser. */
export async function download(path: string, fallbackName: string): Promise<void> {
  const res = await send('GET', path);
  const disposition = res.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Revoke later: Chromium reads the blob asynchronously after click().
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
