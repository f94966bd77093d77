import type { ServerResponse } from 'node:http';
import { ERROR_STATUS, type ErrorCode } from '../../errors.js';

/**
 * Answers a data-plane request with a SPEC §5 error: the code's status, `{"error":{code,message}}` and
 * `x-vaultgate-error: <code>` so scripts can tell vaultgate's own errors from the upstream's. Once the
 * response head is out nothing can be said any more; the connection is cut so the client sees a
 * truncated response rather than a silently wrong one.
 */
export function sendError(res: ServerResponse, code: ErrorCode, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (res.destroyed) return;
  const body = JSON.stringify({ error: { code, message } });
  res.writeHead(ERROR_STATUS[code], {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    'x-vaultgate-error': code,
  });
  res.end(body);
}
