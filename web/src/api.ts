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
let onSessionLost: (() => void) | null = null;

export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}

/** Called when a call answers 401 while signed in: the session expired or was signed out elsewhere. */
export function whenSessionLost(handler: () => void): void {
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
  if (res.status === 401 && path !== '/session' && onSessionLost) onSessionLost();
  return new ApiError(
    res.status,
    e.code ?? 'http_' + res.status,
    e.message ?? `The request failed (HTTP ${res.status}).`,
    e.field,
  );
}

/** Calls the API and unwraps `{data}`; a 204 gives undefined. */
export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await send(method, path, body);
  if (res.status === 204) return undefined as T;
  return ((await res.json()) as { data: T }).data;
}

/**
 * Every item of a paged list (SPEC §2: `limit`, `cursor`, `next_cursor`), following the cursors
 * 1,000 at a time: the screens that show whole lists (with their own search) get all of it.
 */
export async function listAll<T>(path: string): Promise<T[]> {
  const items: T[] = [];
  let cursor: string | null = null;
  do {
    const page = `${path}${path.includes('?') ? '&' : '?'}limit=1000${cursor === null ? '' : `&cursor=${encodeURIComponent(cursor)}`}`;
    const res = await send('GET', page);
    const body = (await res.json()) as { data: T[]; next_cursor?: string | null };
    items.push(...body.data);
    cursor = body.next_cursor ?? null;
  } while (cursor !== null);
  return items;
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
