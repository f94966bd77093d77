/**
 * Paged lists (SPEC §2 "Lists"): `?limit=` (1–1000, default 100) and `?cursor=` (opaque, from the
 * previous page's `next_cursor`). A cursor names the sort key of the last item returned, not an
 * offset, so a page boundary holds while items are added or deleted before it.
 */
import { VaultgateError } from '../errors.js';

export const PAGE_PARAMETERS = ['limit', 'cursor'] as const;
export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

export interface PageRequest {
  readonly limit: number;
  /** The sort key after which the page starts; null for the first page. */
  readonly after: string | null;
}

export interface Page<T> {
  readonly data: T[];
  readonly next_cursor: string | null;
}

function invalid(message: string, field: string): VaultgateError {
  return new VaultgateError('invalid_parameter', message, field);
}

export function readPage(query: URLSearchParams): PageRequest {
  const rawLimit = query.get('limit');
  let limit = DEFAULT_LIMIT;
  if (rawLimit !== null) {
    limit = /^\d{1,4}$/.test(rawLimit) ? Number(rawLimit) : NaN;
    if (!(limit >= 1 && limit <= MAX_LIMIT)) {
      throw invalid(
        `limit must be a whole number from 1 to ${MAX_LIMIT} (default ${DEFAULT_LIMIT}).`,
        'limit',
      );
    }
  }
  const cursor = query.get('cursor');
  return { limit, after: cursor === null ? null : decodeCursor(cursor) };
}

export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): string {
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown };
    if (typeof parsed.k === 'string' && encodeCursor(parsed.k) === cursor) return parsed.k;
  } catch {
    // reported below
  }
  throw invalidCursor();
}

function invalidCursor(): VaultgateError {
  return invalid(
    'cursor is not one this API returned; pass the next_cursor of the previous page, or leave it out.',
    'cursor',
  );
}

/**
 * One page of `items`, which are sorted ascending by `key` (a string that compares in list order,
 * such as `sortKey(created_at, id)`). Binary search: a page costs O(log n + limit).
 */
export function pageOf<T>(items: readonly T[], key: (item: T) => string, request: PageRequest): Page<T> {
  let start = 0;
  if (request.after !== null) {
    const after = request.after;
    let lo = 0;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (key(items[mid] as T) <= after) lo = mid + 1;
      else hi = mid;
    }
    start = lo;
  }
  const data = items.slice(start, start + request.limit);
  const last = data[data.length - 1];
  const more = start + request.limit < items.length;
  return { data, next_cursor: more && last !== undefined ? encodeCursor(key(last)) : null };
}

/** Creation order: the timestamp, then the id (ISO timestamps compare as strings). */
export function sortKey(createdAt: string, id: string): string {
  return `${createdAt} ${id}`;
}

/** The parts of a sortKey, for lists whose store query pages by keyset (certificates). */
export function splitSortKey(key: string): { created_at: string; id: string } {
  const space = key.indexOf(' ');
  if (space <= 0 || space === key.length - 1) throw invalidCursor();
  return { created_at: key.slice(0, space), id: key.slice(space + 1) };
}
