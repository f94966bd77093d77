import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERROR_STATUS, type ErrorCode } from '../../errors.js';
import { sendError } from '../http/errors.js';

/** RFC 9110 §11.7.1: a 407 must say how to authenticate; the realm names us in the client's prompt. */
export const PROXY_AUTHENTICATE = 'Basic realm="vaultgate"';

export const AUTH_MESSAGE =
  'Proxy authentication required: send Proxy-Authorization: Basic with the username and password of an active access credential (e.g. HTTPS_PROXY=http://USERNAME:PASSWORD@host:port).';

const REASONS: Partial<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  407: 'Proxy Authentication Required',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** 400 invalid_target: the request cannot be proxied as written (malformed CONNECT target, origin-form). */
export function sendInvalidTarget(res: ServerResponse, message: string): void {
  sendError(res, 'invalid_target', message);
}

export function throttledMessage(retryAfter: number): string {
  return `Too many failed proxy authentication attempts from your address; try again in ${retryAfter} s.`;
}

/** 429 on an HTTP exchange (absolute-form), with Retry-After (RFC 6585 §4). */
export function sendThrottled(res: ServerResponse, retryAfter: number): void {
  res.setHeader('retry-after', String(retryAfter));
  sendError(res, 'too_many_requests', throttledMessage(retryAfter));
}

/** 407 on an HTTP exchange (absolute-form, or a request inside a tunnel). */
export function sendProxyAuthRequired(res: ServerResponse, closeAfter: boolean): void {
  res.setHeader('proxy-authenticate', PROXY_AUTHENTICATE);
  if (closeAfter) res.setHeader('connection', 'close');
  sendError(res, 'proxy_auth_required', AUTH_MESSAGE);
}

/**
 * A SPEC §5 error written straight onto the socket of a refused CONNECT: after Node emits 'connect'
 * the HTTP machinery has let go of the socket, so the response is serialised by hand. The connection
 * is then closed (`Connection: close`): a client that wants to retry with credentials opens a new one,
 * which every proxy client does, and it spares us re-attaching an HTTP parser.
 */
export function refuseConnect(
  socket: Duplex,
  code: ErrorCode,
  message: string,
  extra: Record<string, string> = {},
): void {
  if (socket.destroyed || !socket.writable) {
    socket.destroy();
    return;
  }
  const status = ERROR_STATUS[code];
  const body = JSON.stringify({ error: { code, message } });
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n`;
  const headers: Record<string, string> = {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': String(Buffer.byteLength(body)),
    'Cache-Control': 'no-store',
    'x-vaultgate-error': code,
    Connection: 'close',
    ...extra,
  };
  for (const [name, value] of Object.entries(headers)) head += `${name}: ${value}\r\n`;
  socket.end(`${head}\r\n${body}`);
  // A client that never reads its answer must not pin the socket.
  setTimeout(() => socket.destroy(), 5_000).unref();
}
