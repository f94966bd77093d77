import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * `x-request-id` (SPEC §2, §3, §4): the caller's when it is sane — what tracing systems send (UUIDs,
 * hex, base64, `service:1234`) and nothing that could break a header or a log line — else a new
 * UUID. A repeated header reaches Node joined by ", ", which is not sane, so it is replaced too.
 */
const SANE = /^[\w.~:+/=@-]{1,128}$/;

const ids = new WeakMap<ServerResponse, string>();

/** Picks the request's id and remembers it for the answer (sendError, the relayed response). */
export function assignRequestId(req: IncomingMessage, res: ServerResponse): string {
  const given = req.headers['x-request-id'];
  const id = typeof given === 'string' && SANE.test(given) ? given : randomUUID();
  ids.set(res, id);
  return id;
}

/** The id assigned to this response's request, if any. */
export function requestIdOf(res: ServerResponse): string | undefined {
  return ids.get(res);
}
